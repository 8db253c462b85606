// What the gateway and uploads suites share: a fresh database and queue prefix (testkit's
// createTestEnv), the embedded S3 server in a process of its own, the built gateway as a
// process, the baseline (bare-server.ts) as a process, and a forked load client.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '../../packages/db/node_modules/kysely/dist/esm/index.js';
import { insertUpload } from '../../packages/db/dist/index.js';
import { createStorage, type Storage } from '../../packages/storage/dist/index.js';
import {
  createTestEnv,
  fixturesDir,
  freePort,
  startService,
  type ServiceProcess,
  type TestEnv,
} from '../../packages/testkit/dist/index.js';
import { cpuProbe, type CpuProbe } from './cpu.js';
import { startLoadClient, type LoadClient } from './load.js';
import { profiledEnv } from '../lib/profiled-env.js';

export interface World {
  env: TestEnv;
  storage: Storage;
  gatewayUrl: string;
  gateway: ServiceProcess;
  s3Pid: number;
  load: LoadClient;
  /** A WAV of about `seconds` cut from the JFK fixture (16 kHz mono). */
  wav(seconds: number): Promise<Buffer>;
  startBaseline(extraEnv: Record<string, string>): Promise<{ url: string; pid: number }>;
  /** Server-side CPU: gateway, its Postgres backends and S3; the baseline and its backends. */
  cpu: () => CpuProbe;
  close(): Promise<void>;
}

/**
 * Limits the bench runs under: the rate limiter and the queued-jobs cap stay on (their cost
 * is measured) with budgets that the load does not reach, so every answer but 2xx is a
 * failure, never a refusal counted as success.
 */
export const BENCH_LIMITS = {
  RATE_LIMIT_JOBS_PER_MIN: '1000000',
  RATE_LIMIT_UPLOADS_PER_MIN: '1000000',
  TENANT_MAX_QUEUED_JOBS: '1000000',
};

async function forkWithAnswer<T>(script: string, env: Record<string, string>) {
  const child: ChildProcess = fork(new URL(script, import.meta.url), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const [answer] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(() => {
        throw new Error(`${script} exited before it was ready`);
      }),
    ])) as [T];
    return { child, answer };
  } finally {
    clearTimeout(timer);
  }
}

const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
};

export async function startWorld(gatewayEnv: Record<string, string> = {}): Promise<World> {
  const env = await createTestEnv();
  const children: ChildProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'bench-gw-'));
  let gateway: ServiceProcess | undefined;
  let load: LoadClient | undefined;
  const close = async () => {
    await load?.close();
    await gateway?.stop(5000);
    for (const child of children) await stopChild(child);
    await env.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const s3 = await forkWithAnswer<{
      endpoint: string;
      accessKeyId: string;
      secretAccessKey: string;
      region: string;
    }>('./s3-process.js', { S3_BUCKETS: env.bucket });
    children.push(s3.child);
    const storage = createStorage({
      bucket: env.bucket,
      region: s3.answer.region,
      endpoint: s3.answer.endpoint,
      accessKeyId: s3.answer.accessKeyId,
      secretAccessKey: s3.answer.secretAccessKey,
      forcePathStyle: true,
    });
    // The baseline's table: the jobs table's columns, defaults, checks and indexes.
    await sql`CREATE TABLE bare_jobs (LIKE jobs INCLUDING ALL)`.execute(env.db);
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    const serviceEnv: Record<string, string> = {
      ...env.env,
      S3_ENDPOINT: s3.answer.endpoint,
      // Its Postgres backends are found by this name (CPU per request).
      DATABASE_URL: `${env.databaseUrl}?application_name=bench-gateway`,
      GATEWAY_PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: gatewayUrl,
      // The default, as deployed: every request is logged.
      LOG_LEVEL: 'info',
      ...BENCH_LIMITS,
      ...(process.env.BENCH_PG_POOL_MAX ? { PG_POOL_MAX: process.env.BENCH_PG_POOL_MAX } : {}),
      // BENCH_GATEWAY_PROF_DIR=<dir>: a CPU profile of the gateway, written when it stops.
      ...profiledEnv('gateway', process.env.BENCH_GATEWAY_PROF_DIR),
      ...gatewayEnv,
    };
    gateway = await startService('gateway', serviceEnv, `${gatewayUrl}/readyz`, {
      outputLines: 50,
    });
    load = await startLoadClient();
    const world: World = {
      env,
      storage,
      gatewayUrl,
      gateway,
      s3Pid: s3.child.pid!,
      load,
      async wav(seconds) {
        const file = join(dir, `clip-${seconds}.wav`);
        execFileSync('ffmpeg', [
          '-v',
          'error',
          '-y',
          '-i',
          join(fixturesDir(), 'audio', 'jfk.wav'),
          '-t',
          String(seconds),
          '-ac',
          '1',
          '-ar',
          '16000',
          file,
        ]);
        return readFile(file);
      },
      async startBaseline(extraEnv) {
        const bare = await forkWithAnswer<{ port: number }>('./bare-server.js', {
          DATABASE_URL: `${env.databaseUrl}?application_name=bench-bare`,
          AMQP_URL: env.env.AMQP_URL!,
          AMQP_PREFIX: env.prefix,
          ...extraEnv,
        });
        children.push(bare.child);
        return { url: `http://127.0.0.1:${bare.answer.port}`, pid: bare.child.pid! };
      },
      cpu: () =>
        cpuProbe(
          env.db,
          { gateway: gateway!.child.pid!, s3: s3.child.pid! },
          { gatewayPg: 'bench-gateway' },
        ),
      close,
    };
    return world;
  } catch (error) {
    await close();
    throw error;
  }
}

/** `count` uploads of `bytes` for a tenant, stored in S3 and recorded as a presign would. */
export async function preparedUploads(
  world: World,
  tenantId: string,
  bytes: Buffer,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        next++;
        const id = crypto.randomUUID();
        const key = `${tenantId}/${id}/bench.wav`;
        await world.storage.upload(key, bytes, 'audio/wav');
        await insertUpload(world.env.db, {
          id,
          tenant_id: tenantId,
          object_key: key,
          filename: 'bench.wav',
          content_type: 'audio/wav',
          size_bytes: bytes.length,
          method: 'PUT',
          expires_at: new Date(Date.now() + 3600_000),
        });
        ids.push(id);
      }
    }),
  );
  return ids;
}
