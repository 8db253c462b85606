// The worker (issue 18): what our pipeline costs over the raw engine, how a long
// recording scales out over two workers, and whether a 10-hour recording leaves the
// worker's memory where a 1-minute one does. Real services as processes (built gateway,
// notifier and workers; local Postgres and RabbitMQ; the embedded S3 server), real speech
// (Debian's LibriVox clips looped with ffmpeg at run time), default settings throughout.
//
// One round of the full suite on this 2-core machine costs about 35 minutes (most of it
// the 60-minute recording, once on one worker and once on two: pocketsphinx runs at about
// 4× real time per core here), so the scale-out and memory figures run one round unless
// `--all-rounds`;
// `--quick` uses a 10-minute recording there and 1 hour instead of 10 for the memory figure.
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTenant } from '../../packages/db/dist/index.js';
import { insertQueuedJob } from '../../packages/jobs/dist/index.js';
import {
  createTestEnv,
  freePort,
  startService,
  startStack,
  submitRecording,
  type Stack,
  type TestEnv,
} from '../../packages/testkit/dist/index.js';
import type { Figure, Sample, Suite } from '../lib/harness.js';
import { startFastOpenAIServer } from '../worker/fast-openai-server.js';
import { watchMemory } from '../worker/proc-memory.js';
import { rawSphinx } from '../worker/raw-engine.js';
import { speech } from '../worker/speech.js';

const MB = 1024;

/** Two raw decodes at once over one alone: what the cores give two decoders (throughput). */
const rawCeiling = (o: Sample, b: Sample) => (2 * b.rawOneS!) / o.rawTwoAtOnceS!;

/** Waits for the job's end (bounded), reading its row; the wall time is submit → finished_at. */
async function settle(env: TestEnv, jobId: string, since: number, limitS: number) {
  const deadline = Date.now() + limitS * 1000;
  for (;;) {
    const job = await env.db
      .selectFrom('jobs')
      .select(['status', 'finished_at', 'duration_s'])
      .where('id', '=', jobId)
      .executeTakeFirst();
    if (job && ['completed', 'failed', 'canceled'].includes(job.status)) {
      const chunks = await env.db
        .selectFrom('job_chunks')
        .select(['started_at', 'finished_at'])
        .where('job_id', '=', jobId)
        .execute();
      const starts = chunks.flatMap((c) => (c.started_at ? [c.started_at.getTime()] : []));
      const ends = chunks.flatMap((c) => (c.finished_at ? [c.finished_at.getTime()] : []));
      const finished = job.finished_at?.getTime() ?? Date.now();
      return {
        completed: job.status === 'completed' ? 1 : 0,
        wallS: (finished - since) / 1000,
        chunks: chunks.length,
        // Submit → the first chunk's transcription: upload, decode, split (serial work).
        prepS: starts.length ? (Math.min(...starts) - since) / 1000 : NaN,
        // The first chunk to finish → the last: how long the slowest worker ran on alone.
        spreadS: ends.length ? (Math.max(...ends) - Math.min(...ends)) / 1000 : NaN,
      };
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} not settled within ${limitS} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const workerSuite: Suite = {
  name: 'worker',
  watchdogMin: { setup: 20, perRound: 60 },
  async setup({ quick, log }) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-worker-'));
    const key = `bench-worker-${randomBytes(8).toString('hex')}`;
    const envs: TestEnv[] = [];
    const stacks: Stack[] = [];
    const fast = await startFastOpenAIServer();
    const close = async () => {
      for (const s of stacks) await s.stop().catch(() => undefined);
      for (const e of envs) await e.close().catch(() => undefined);
      await fast.close();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      const stackWith = async (workers: number) => {
        const env = await createTestEnv();
        envs.push(env);
        const stack = await startStack({
          env: { ...env.env, DEV_API_KEY: key, LOG_LEVEL: 'warn' },
          workers,
        });
        stacks.push(stack);
        return { env, stack };
      };
      const one = await stackWith(1);
      const two = await stackWith(2);
      const memoryEnv = await createTestEnv();
      envs.push(memoryEnv);
      const tenantId = await ensureTenant(memoryEnv.db, 'bench-worker');

      // BENCH_WORKER_LONG_MIN sets the scale-out recording (minutes), and BENCH_WORKER_ONLY
      // picks figures by id prefix (e.g. `scale-out`), for a run that has less time.
      const longS = Number(process.env.BENCH_WORKER_LONG_MIN ?? (quick ? 10 : 60)) * 60;
      const hugeS = quick ? 3600 : 36_000;
      const only = process.env.BENCH_WORKER_ONLY?.split(',').map((p) => p.trim());
      const wanted = (id: string) => !only || only.some((p) => id.startsWith(p));
      log(`  making recordings (5 min, ${longS / 60} min, 1 min and ${hugeS / 3600} h)…`);
      // Made before any measurement, and only those the chosen figures use.
      const fiveMinutes =
        wanted('pipeline') || wanted('scale-out') ? await speech(dir, 300, 'mp3') : '';
      const long = wanted('scale-out') ? await speech(dir, longS, 'mp3') : '';
      const minuteWav = wanted('rss') ? await speech(dir, 60, 'wav') : '';
      const hugeWav = wanted('rss') ? await speech(dir, hugeS, 'wav') : '';

      /** One recording through a stack's gateway to completion. */
      const throughStack = async (
        at: { env: TestEnv; stack: Stack },
        file: string,
        limitS: number,
      ) => {
        const bytes = await readFile(file);
        const since = Date.now();
        const id = await submitRecording(at.stack.gatewayUrl, key, {
          bytes,
          name: 'speech.mp3',
          type: 'audio/mpeg',
        });
        const result = await settle(at.env, id, since, limitS);
        if (!result.completed) throw new Error(`job ${id} did not complete`);
        return result;
      };

      /** A fresh worker process (default settings, engine `openai` → the fast server) on one job. */
      const memoryRun = async (file: string, limitS: number): Promise<Sample> => {
        const port = await freePort();
        const worker = await startService(
          'worker',
          {
            ...memoryEnv.env,
            METRICS_PORT: String(port),
            OPENAI_BASE_URL: fast.baseURL,
            OPENAI_API_KEY: 'bench',
            LOG_LEVEL: 'warn',
          },
          `http://127.0.0.1:${port}/readyz`,
        );
        const watch = watchMemory(worker.child.pid!);
        try {
          const id = randomUUID();
          const objectKey = `${tenantId}/${id}/speech.wav`;
          await memoryEnv.storage.upload(objectKey, createReadStream(file), 'audio/wav');
          const since = Date.now();
          await memoryEnv.db.transaction().execute((trx) =>
            insertQueuedJob(trx, {
              id,
              tenant_id: tenantId,
              priority: 'default',
              object_key: objectKey,
              filename: 'speech.wav',
              content_type: 'audio/wav',
              size_bytes: 0,
              language: 'en',
              engine: 'openai',
            }),
          );
          const result = await settle(memoryEnv, id, since, limitS);
          const memory = await watch.stop();
          return {
            nodePeakMb: memory.nodeHwmKb / MB,
            treePeakMb: memory.treePeakKb / MB,
            completed: result.completed,
            chunks: result.chunks,
            wallS: result.wallS,
            fileMb: (await stat(file)).size / MB / MB,
          };
        } finally {
          await watch.stop().catch(() => undefined);
          await worker.stop();
        }
      };

      const figures: Figure[] = [
        {
          id: 'pipeline-overhead',
          title:
            'a 5-minute recording: submit → completed through gateway + one worker (pocketsphinx)',
          baselineTitle: 'ffmpeg decode piped into pocketsphinx_continuous, same file',
          ours: async () => {
            const r = await throughStack(one, fiveMinutes, 900);
            return { wallS: r.wallS, prepS: r.prepS, chunks: r.chunks };
          },
          baseline: async () => rawSphinx(fiveMinutes),
          checks: [
            {
              label: '(ours − 1 s) ÷ raw',
              value: (o, b) => (o.wallS! - 1) / b!.wallS!,
              atMost: 1.05,
              note: 'ours ≤ 1.05 × raw + 1 s',
            },
          ],
        },
        {
          id: `rss-${hugeS / 3600}h`,
          title: `worker peak RSS, a ${hugeS / 3600}-hour recording (default fan-out path, engine openai → a local wire-format server that answers at once)`,
          baselineTitle: 'the same on a 1-minute recording',
          ours: async () => memoryRun(hugeWav, quick ? 1800 : 5400),
          baseline: async () => memoryRun(minuteWav, 300),
          maxRounds: {
            rounds: 1,
            why: `a ${hugeS / 3600}-hour recording per round; a peak of memory, unlike a speed, does not move with the machine’s load`,
          },
          checks: [
            {
              label: 'node peak − 1-minute peak (MB)',
              value: (o, b) => o.nodePeakMb! - b!.nodePeakMb!,
              atMost: 50,
            },
            { label: 'long job completed', value: (o) => o.completed!, atLeast: 1 },
          ],
        },
        {
          id: `scale-out-${longS / 60}min`,
          title: `a ${longS / 60}-minute recording on two workers (pocketsphinx, default chunking)`,
          baselineTitle: 'the same recording on one worker',
          // Each side also runs the raw engine on the 5-minute recording, two at once beside
          // two workers and one alone beside one: what this machine's two cores give two
          // CPU-bound decoders at that moment, the ceiling of any scale-out on it.
          ours: async () => {
            const r = await throughStack(two, long, 3 * longS);
            const t0 = performance.now();
            await Promise.all([rawSphinx(fiveMinutes), rawSphinx(fiveMinutes)]);
            return { ...r, rawTwoAtOnceS: (performance.now() - t0) / 1000 };
          },
          baseline: async () => {
            const r = await throughStack(one, long, 3 * longS);
            return { ...r, rawOneS: (await rawSphinx(fiveMinutes)).wallS };
          },
          ...(quick
            ? {}
            : {
                maxRounds: {
                  rounds: 1,
                  why: 'a round transcribes the 60-minute recording twice, about 25 minutes on 2 cores',
                },
              }),
          checks: [
            {
              label: '1 worker ÷ 2 workers (wall)',
              value: (o, b) => b!.wallS! / o.wallS!,
              atLeast: 1.8,
            },
            {
              label: 'ceiling: raw engine, 2 at once ÷ 1',
              value: (o, b) => rawCeiling(o, b!),
              note: 'throughput of two raw pocketsphinx decodes at once over one alone',
            },
            {
              label: 'workers’ gain ÷ ceiling',
              value: (o, b) => b!.wallS! / o.wallS! / rawCeiling(o, b!),
            },
          ],
        },
      ];
      return { figures: figures.filter((f) => wanted(f.id)), close };
    } catch (error) {
      await close();
      throw error;
    }
  },
};
