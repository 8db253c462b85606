// Opt-in (TEST_BUNDLES=1, a few minutes): what goes into the images, run without Docker.
// The Dockerfile's build stage is carried out on this machine (its own commands: pnpm
// from the lockfile, tsc, `pnpm deploy --prod`, the pruning), then the migration and the
// three services run from those production-only bundles against real Postgres, RabbitMQ
// and S3, are health-checked with the images' own HEALTHCHECK commands, and transcribe
// the JFK recording. A dependency missing from production, or a file the pruning removes
// that is needed, fails here.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestEnv } from '@transcribe/testkit';
import { effective, parseDockerfile, stageChain } from '../src/index.js';
import { runStage } from '../src/build-stage.js';
import { root, services } from './support.js';

const enabled = process.env.TEST_BUNDLES === '1';
const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const API_KEY = 'bundle-check-key-0123456789';

function sizeMb(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return Math.round(bytes / 1e5) / 10;
}

(enabled ? describe : describe.skip)('image contents, run without Docker (TEST_BUNDLES=1)', () => {
  let sandbox: string;
  let testEnv: TestEnv;
  let env: Record<string, string>;
  const running: ChildProcess[] = [];
  const output: string[] = [];

  beforeAll(async () => {
    // BUNDLES_FROM=<sandbox of an earlier run> skips the build, to iterate on the rest.
    sandbox = process.env.BUNDLES_FROM ?? mkdtempSync(join(tmpdir(), 'bundles-'));
    const pinned = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        packageManager: string;
      }
    ).packageManager.split('@')[1];
    const { stdout } = await promisify(execFile)('pnpm', ['--version']);
    expect(stdout.trim()).toBe(pinned);
    if (!process.env.BUNDLES_FROM)
      await runStage(dockerfile, {
        context: root,
        sandbox,
        stage: 'build',
        mapPaths: ['/src', '/out'],
        // The machine already has the pinned pnpm (checked above); enabling corepack here
        // would replace the global pnpm of everyone using this machine.
        skipRun: (command) => /^corepack enable$/.test(command.trim()),
      });
    const { createTestEnv, freePort } = await import('@transcribe/testkit');
    testEnv = await createTestEnv();
    const [gatewayPort, notifierPort, metricsPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    env = {
      ...testEnv.env,
      GATEWAY_PORT: String(gatewayPort),
      NOTIFIER_PORT: String(notifierPort),
      METRICS_PORT: String(metricsPort),
      PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
      EVENTS_PUBLIC_URL: `ws://127.0.0.1:${notifierPort}`,
      DEV_API_KEY: API_KEY,
      TMP_DIR: sandbox,
      NODE_ENV: 'production',
    };
  }, 20 * 60_000);

  afterAll(async () => {
    await Promise.all(
      running.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      }),
    );
    await testEnv?.close();
    if (!process.env.BUNDLES_FROM) rmSync(sandbox, { recursive: true, force: true });
  });

  it('bundles each service with its production dependencies only', () => {
    for (const svc of services) {
      const bundle = join(sandbox, 'out', svc.name);
      const pkg = JSON.parse(readFileSync(join(bundle, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      const installed = (name: string) => existsSync(join(bundle, 'node_modules', name));
      for (const dep of Object.keys(pkg.dependencies ?? {}))
        expect({ dep, ok: installed(dep) }).toEqual({ dep, ok: true });
      for (const dep of Object.keys(pkg.devDependencies ?? {})) {
        if (!(dep in (pkg.dependencies ?? {})))
          expect({ dep, ok: !installed(dep) }).toEqual({ dep, ok: true });
      }
      expect(readdirSync(join(bundle, 'dist'))).toContain('main.js');
      console.log(`${svc.name} bundle: ${sizeMb(bundle)} MB`);
    }
  });

  it('migrates from the gateway bundle', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['node_modules/@transcribe/db/dist/migrate-cli.js'],
      { cwd: join(sandbox, 'out/gateway'), env: { ...process.env, ...env } },
    );
    // createTestEnv migrated the database already; the bundle's migrator agrees.
    expect(stdout).toMatch(/up to date/);
  });

  it(
    'runs the services, healthy by their HEALTHCHECK, and transcribes a recording',
    async () => {
      for (const svc of services) {
        const child = spawn(process.execPath, ['dist/main.js'], {
          cwd: join(sandbox, 'out', svc.name),
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const keep = (chunk: Buffer) => output.push(`${svc.name}: ${chunk.toString()}`);
        child.stdout?.on('data', keep);
        child.stderr?.on('data', keep);
        running.push(child);
      }
      for (const svc of services) {
        const probe = effective(stageChain(dockerfile, svc.name), 'HEALTHCHECK')?.args.slice(1);
        const [cmd = '', ...args] = probe ?? [];
        const deadline = Date.now() + 60_000;
        for (;;) {
          const ok = await promisify(execFile)(cmd === 'node' ? process.execPath : cmd, args, {
            env: { ...process.env, ...env },
          }).then(
            () => true,
            (error: Error) => (output.push(`${svc.name} HEALTHCHECK: ${error.message}\n`), false),
          );
          if (ok) break;
          if (Date.now() > deadline) {
            throw new Error(`${svc.name}: HEALTHCHECK never passed\n${output.join('')}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }

      const { createClient } = await import('@transcribe/client');
      const { audioFixture, JFK_REFERENCE, wordErrorRate } = await import('@transcribe/testkit');
      const client = createClient({ baseUrl: env.PUBLIC_URL ?? '', apiKey: API_KEY });
      const upload = await client.uploadFile(audioFixture('jfk.wav'));
      const job = await client.createJob({ uploadId: upload.uploadId });
      const last = await client.waitForJob(job.id);
      expect(last.type).toBe('completed');
      const text = await client.getTranscript(job.id, 'txt');
      // PocketSphinx gets about half the words of this clip right (README: WER ≈ 0.55).
      expect(wordErrorRate(JFK_REFERENCE, text)).toBeLessThan(0.8);

      // SIGTERM, as `docker stop` and the kubelet send it: every service exits cleanly.
      const codes = await Promise.all(
        running.map(async (child) => {
          child.kill('SIGTERM');
          const [code] = (await once(child, 'exit')) as [number | null];
          return code;
        }),
      );
      expect(codes).toEqual([0, 0, 0]);
    },
    5 * 60_000,
  );
});
