// Issue 11: every accepted job ends completed or failed exactly once, and a dependency
// blip never makes work run twice. Real Postgres, RabbitMQ (reached through a TCP relay
// the tests can cut), S3 and ffmpeg. In-process jobs run on the deterministic engine, held
// until the fault under test has happened instead of hoping pocketsphinx is still busy;
// the worker process of the last test is the built one (`pnpm build`), with its real
// pocketsphinx child, killed with SIGKILL.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import {
  appendJobEvent,
  claimJob,
  ensureTenant,
  findJobById,
  insertJob,
  listJobChunks,
  listJobEvents,
  setTenantMaxAudioPerDay,
  type JobRow,
} from '@transcribe/db';
import { cancelJob, enqueueChunks, enqueueTranscription } from '@transcribe/jobs';
import {
  connectBroker,
  startOutboxRelay,
  type Broker,
  type MessageHandler,
  type OutboxRelay,
} from '@transcribe/queue';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import {
  createTestEnv,
  audioFixture,
  freePort,
  librivoxClips,
  startService,
  startFaultProxy,
  type ServiceProcess,
  type FaultProxy,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import type { Engine } from '../src/engines/engine.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createIntake } from '../src/intake.js';
import { createJobHandler, type JobHandlerDeps } from '../src/consumer.js';
import { createWorkerMetrics } from '../src/metrics.js';
import { joinLibrivox } from './speech.js';
import { createDeterministicEngine } from './support/deterministic-engine.js';
import { descendantsOf, running } from './support/descendants.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { processesMentioning } from '../../../packages/testkit/src/processes.js';

const run = promisify(execFile);
jest.setTimeout(300_000);
/** When set, transcriptions finish only after it resolves. */
let transcriptionsFinishAfter: Promise<unknown> | undefined;
const speech = createDeterministicEngine({ gate: () => transcriptionsFinishAfter });
const jfkWav = audioFixture('jfk.wav');
const jfkMp3 = audioFixture('jfk.mp3');
const shortClip = librivoxClips().find((c) => c.wav.endsWith('0880.wav'))!;
const metrics = createWorkerMetrics(createRegistry('faults-test'));
const logger = createLogger('faults-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let env: TestEnv;
let broker: Broker;
/** The consumer's own connection, through the relay the tests cut. */
let consumerBroker: Broker;
let tcp: FaultProxy;
let relay: OutboxRelay;
let tenantId: string;
let scratch: string;
let media: string;

/** The engine, counted: calls, transcriptions running now, and per input file. */
const counted = {
  calls: 0,
  running: 0,
  /** Transcriptions of the same audio (by content) that overlapped. */
  overlaps: 0,
  byContent: new Map<string, number>(),
  runningContent: new Set<string>(),
  reset() {
    this.calls = 0;
    this.overlaps = 0;
    this.byContent.clear();
  },
};
const countingEngine: Engine = {
  name: 'sphinx',
  async transcribe(wav, options, onProgress) {
    const key = createHash('sha1')
      .update(await readFile(wav))
      .digest('hex');
    counted.calls++;
    counted.running++;
    counted.byContent.set(key, (counted.byContent.get(key) ?? 0) + 1);
    if (counted.runningContent.has(key)) counted.overlaps++;
    counted.runningContent.add(key);
    try {
      return await speech.transcribe(wav, options, onProgress);
    } finally {
      counted.running--;
      counted.runningContent.delete(key);
    }
  },
};

let deps: Partial<JobHandlerDeps> = {};
let pipelineOverrides: Partial<JobHandlerDeps['pipeline']> = {};
let maxInFlight = 0;
let deliveries = 0;

function makeHandler(): MessageHandler {
  return createJobHandler({
    db: env.db,
    relay,
    logger,
    metrics,
    pipeline: {
      storage: env.storage,
      engines: createEngineSelector([countingEngine]),
      tmpDir: scratch,
      maxDurationS: 4 * 3600,
      chunkS: 300,
      chunkWindowS: 3,
      ...pipelineOverrides,
    },
    maxAttempts: 3,
    leaseMs: 3000,
    progressIntervalMs: 200,
    jobTimeoutMs: 200_000,
    retry: { baseMs: 500, maxMs: 1000 },
    fanOut: { minChunks: 0, leaseMs: 120_000, storage: env.storage },
    ...deps,
  });
}

// The worker's intake, as main.ts wires it: one job at a time, and a replaced channel
// subscribes again only once the old channel's job has settled.
const intake = createIntake({
  concurrency: 1,
  handler: async (body, ctx) => {
    deliveries++;
    maxInFlight = Math.max(maxInFlight, intake.inFlight());
    await makeHandler()(body, ctx);
  },
  onOverflow: () => undefined,
});

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-faults');
  scratch = await mkdtemp(join(tmpdir(), 'faults-scratch-'));
  media = await mkdtemp(join(tmpdir(), 'faults-media-'));
  broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready();
  relay = startOutboxRelay({ db: env.db, broker, pollMs: 200 });
  const amqp = new URL(env.env.AMQP_URL!);
  tcp = await startFaultProxy({ host: amqp.hostname, port: Number(amqp.port || 5672) });
  amqp.host = `127.0.0.1:${tcp.port}`;
  consumerBroker = connectBroker({ url: amqp.toString(), prefix: env.prefix });
  await consumerBroker.consume(consumerBroker.names.jobsQueue, intake.handle, {
    prefetch: 1,
    beforeSubscribe: () => intake.idle(),
  });
}, 60_000);

afterEach(() => {
  deps = {};
  pipelineOverrides = {};
  transcriptionsFinishAfter = undefined;
});

afterAll(async () => {
  await consumerBroker?.close();
  await intake.idleWithin(60_000);
  await relay?.stop();
  await broker?.close();
  await tcp?.close();
  await env?.close();
  await rm(scratch, { recursive: true, force: true });
  await rm(media, { recursive: true, force: true });
});

async function submit(file: string, options: { publish?: boolean } = {}): Promise<JobRow> {
  const id = uuidv7();
  const key = `${tenantId}/${id}/${file.split('/').pop()}`;
  await env.storage.upload(key, await readFile(file), 'application/octet-stream');
  const job = await env.db.transaction().execute(async (trx) => {
    const row = await insertJob(trx, {
      id,
      tenant_id: tenantId,
      status: 'queued',
      stage: 'queued',
      priority: 'default',
      object_key: key,
      filename: 'upload',
      content_type: 'application/octet-stream',
      size_bytes: 1,
      language: 'en',
      engine: 'sphinx',
    });
    await appendJobEvent(trx, { id, tenantId }, { type: 'queued' });
    if (options.publish !== false) {
      await enqueueTranscription(trx, { id, tenantId, priority: 'default' });
    }
    return row;
  });
  relay.kick();
  return job;
}

/** Connections the consumer made through the proxy (refused attempts are not made). */
const connectionsMade = () => tcp.stats().accepted - tcp.stats().refused;
const reload = async (id: string) => (await findJobById(env.db, id))!;
async function settled(id: string, timeoutMs = 240_000): Promise<JobRow> {
  await waitFor(
    async () => ['completed', 'failed', 'canceled'].includes((await reload(id)).status),
    { timeoutMs: timeoutMs },
  );
  return reload(id);
}
const eventTypes = async (id: string) => (await listJobEvents(env.db, id, 0)).map((e) => e.type);
const outboxEmpty = async () =>
  (await env.db.selectFrom('outbox').select('id').execute()).length === 0;

async function ffmpeg(...args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
}

it('drops a redelivered message whose job is held under a live lease: no work, no attempt charged', async () => {
  counted.reset();
  const job = await submit(shortClip.wav, { publish: false });
  // Another worker holds it and keeps renewing; its message comes round again.
  await claimJob(env.db, job.id, { leaseMs: 60_000 });
  const before = deliveries;
  await env.db
    .transaction()
    .execute((trx) => enqueueTranscription(trx, { id: job.id, tenantId, priority: 'default' }));
  relay.kick();
  await waitFor(async () => deliveries > before && (await outboxEmpty()));
  await intake.idleWithin(60_000);
  expect(counted.calls).toBe(0);
  expect(await reload(job.id)).toMatchObject({
    status: 'processing',
    attempts: 1,
    lost_attempts: 0,
  });
  expect(await eventTypes(job.id)).toEqual(['queued']);
  // The holder was made up: let the job go, so no later reaper hands it to a worker.
  await cancelJob(env.db, tenantId, job.id);
});

it('a broker cut mid-job: the job completes exactly once, attempts unchanged, never two jobs at once', async () => {
  counted.reset();
  maxInFlight = 0;
  const recording = await joinLibrivox(join(media, 'cut.wav'), 1);
  // The transcription is still running when the cut comes, and until the consumer is back.
  let reconnected!: () => void;
  transcriptionsFinishAfter = new Promise<void>((resolve) => (reconnected = resolve));
  const job = await submit(recording.file);
  await waitFor(() => counted.running > 0);
  const connectionsBefore = connectionsMade();
  // The consumer's connection drops and stays unreachable for 3 s; the broker requeues
  // the unacked message, and a second job arrives meanwhile.
  tcp.refuse();
  setTimeout(() => tcp.restore(), 3000);
  const second = await submit(shortClip.wav);
  await waitFor(() => connectionsMade() > connectionsBefore, {
    what: 'the consumer to reconnect',
  });
  reconnected();
  const done = await settled(job.id);
  const secondDone = await settled(second.id);
  await waitFor(async () => (await outboxEmpty()) && intake.inFlight() === 0);

  expect(connectionsMade()).toBeGreaterThan(connectionsBefore); // it did reconnect
  expect([done.status, done.attempts, done.lost_attempts]).toEqual(['completed', 1, 0]);
  expect([secondDone.status, secondDone.attempts]).toEqual(['completed', 1]);
  const types = await eventTypes(job.id);
  expect(types.filter((t) => t === 'processing')).toHaveLength(1);
  expect(types.filter((t) => t === 'completed')).toHaveLength(1);
  expect(types.at(-1)).toBe('completed');
  // One transcription per job, and never two at once in this one-job worker.
  expect(counted.calls).toBe(2);
  expect(maxInFlight).toBe(1);

  // Progress is paced at ≤ 2 events/s while the job runs, yet every stage shows up; when
  // it succeeds, what is still pending (one value per stage at most) goes out at once.
  const events = (await listJobEvents(env.db, job.id, 0)).flatMap((e) =>
    e.type === 'progress' ? [e] : [],
  );
  const stages = new Set(events.map((e) => e.stage));
  expect([...stages]).toEqual(
    expect.arrayContaining(['downloading', 'probing', 'normalizing', 'splitting', 'transcribing']),
  );
  const times = events.map((e) => new Date(e.at).getTime());
  let paced = times.length;
  while (paced > 2 && times[paced - 1]! - times[paced - 3]! < 900) paced--;
  for (let i = 2; i < paced; i++) {
    expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(900);
  }
  const burst = events.slice(paced).map((e) => e.stage);
  expect(new Set(burst).size).toBe(burst.length);
});

it('transcribes a fanned-out chunk once, even with every chunk message delivered twice', async () => {
  counted.reset();
  // Two consumers with room for several chunks each, the relay one and a direct one.
  const direct = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await direct.consume(direct.names.jobsQueue, (body, ctx) => makeHandler()(body, ctx), {
    prefetch: 4,
  });
  try {
    deps = { fanOut: { minChunks: 2, leaseMs: 120_000, storage: env.storage } };
    pipelineOverrides = { chunkS: 8 };
    const recording = await joinLibrivox(join(media, 'fan.wav'), 1);
    // No chunk finishes before its duplicate is on its way.
    let duplicatesSent!: () => void;
    transcriptionsFinishAfter = new Promise<void>((resolve) => (duplicatesSent = resolve));
    const job = await submit(recording.file);
    // The first chunk's transcription proves the chunks went out: send each one again.
    await waitFor(() => counted.calls > 0);
    const current = await reload(job.id);
    const pending = (await listJobChunks(env.db, job.id)).filter((c) => !c.done);
    await env.db
      .transaction()
      .execute((trx) =>
        enqueueChunks(
          trx,
          { id: job.id, tenantId, priority: 'default' },
          { indexes: pending.map((c) => c.index), attempt: current.attempts },
        ),
      );
    relay.kick();
    duplicatesSent();
    const done = await settled(job.id);
    const chunks = await listJobChunks(env.db, job.id);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect([done.status, done.attempts]).toEqual(['completed', 1]);
    expect(counted.overlaps).toBe(0);
    expect([...counted.byContent.values()].every((n) => n === 1)).toBe(true);
    expect(counted.calls).toBe(chunks.length);
    const types = await eventTypes(job.id);
    expect(types.filter((t) => t === 'completed')).toHaveLength(1);
    // Duplicates still waiting in the delay queue find the chunks done and go quietly.
    await waitFor(async () => outboxEmpty());
  } finally {
    await direct.close();
  }
});

describe('media truth and admission', () => {
  it('takes the duration of a truncated MP3 from its decoded audio, not its header', async () => {
    const truncated = join(media, 'truncated.mp3');
    await writeFile(truncated, (await readFile(jfkMp3)).subarray(0, 20_000));
    const job = await settled((await submit(truncated)).id);
    // The header says 11 s; about 2.9 s decode.
    expect(job.status).toBe('completed');
    expect(job.duration_s).toBeGreaterThan(2);
    expect(job.duration_s).toBeLessThan(4);
  });

  it('fails random bytes behind a WAV header, and silence, before any engine work', async () => {
    counted.reset();
    const data = randomBytes(16000 * 2 * 4);
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + data.length, 4);
    header.write('WAVEfmt ', 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(16000, 24);
    header.writeUInt32LE(32000, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(data.length, 40);
    const noise = join(media, 'random.wav');
    await writeFile(noise, Buffer.concat([header, data]));
    const silent = join(media, 'silent.opus');
    await ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=mono',
      '-t',
      '120',
      '-c:a',
      'libopus',
      '-b:a',
      '6k',
      silent,
    );

    const [noiseJob, silentJob] = await Promise.all([submit(noise), submit(silent)]);
    expect(await settled(noiseJob.id)).toMatchObject({
      status: 'failed',
      error_code: 'invalid_media',
    });
    expect(await settled(silentJob.id)).toMatchObject({
      status: 'failed',
      error_code: 'empty_audio',
    });
    expect(counted.calls).toBe(0);
    expect(await listJobChunks(env.db, silentJob.id)).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('refuses a tiny file that decodes to hours past MAX_DURATION_S without writing it out', async () => {
    // 3 h 50 min of silence in Opus: ten-minute pieces joined without re-encoding.
    const piece = join(media, 'piece.opus');
    await ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=mono',
      '-t',
      '600',
      '-c:a',
      'libopus',
      '-b:a',
      '6k',
      piece,
    );
    const list = join(media, 'pieces.txt');
    await writeFile(list, Array.from({ length: 23 }, () => `file '${piece}'\n`).join(''));
    const long = join(media, 'long-silence.opus');
    await ffmpeg('-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', long);

    counted.reset();
    pipelineOverrides = { maxDurationS: 600 };
    const started = Date.now();
    const job = await settled((await submit(long)).id);
    const tookMs = Date.now() - started;
    expect(job).toMatchObject({ status: 'failed', error_code: 'too_long' });
    expect(counted.calls).toBe(0);
    expect(await listJobChunks(env.db, job.id)).toEqual([]);
    logger.info({ tookMs }, 'silent 3 h 50 min Opus refused');
    expect(tookMs).toBeLessThan(120_000);
  });

  it("fails a job past the tenant's daily audio quota with quota_exceeded", async () => {
    await setTenantMaxAudioPerDay(env.db, tenantId, 5);
    try {
      const job = await settled((await submit(jfkWav)).id);
      expect(job).toMatchObject({ status: 'failed', error_code: 'quota_exceeded' });
      expect(job.error_message).toMatch(/daily limit of 5 s.*resets at \d{4}-/);
    } finally {
      await setTenantMaxAudioPerDay(env.db, tenantId, null);
    }
  });
});

describe('a worker process killed with SIGKILL', () => {
  let workers: ServiceProcess[] = [];
  afterAll(async () => {
    for (const w of workers) await w.stop(20_000);
  });

  it('takes its pocketsphinx child with it; the next start removes its scratch and finishes its job', async () => {
    // The in-test consumer steps aside: this job is the worker processes' alone.
    await consumerBroker.stopConsuming();
    const tmpRoot = await mkdtemp(join(tmpdir(), 'faults-kill-'));
    const start = async () => {
      const port = await freePort();
      const worker = await startService(
        'worker',
        {
          ...env.env,
          TMP_DIR: tmpRoot,
          METRICS_PORT: String(port),
          LEASE_S: '3',
          REAPER_INTERVAL_S: '1',
          FANOUT_MIN_CHUNKS: '0',
        },
        `http://127.0.0.1:${port}/readyz`,
        { timeoutMs: 60_000 },
      );
      workers.push(worker);
      return worker;
    };
    try {
      const first = await start();
      const recording = await joinLibrivox(join(media, 'kill.wav'), 1);
      const job = await submit(recording.file);
      // The engine is the worker's resident decoder (sphinx-decoder.js), or a
      // pocketsphinx_continuous per chunk with SPHINX_RESIDENT=false.
      const engines = async () =>
        (await descendantsOf(first.child.pid!)).filter(
          (p) => !p.zombie && /pocketsphinx|sphinx-decoder/.test(p.cmd),
        );
      await waitFor(
        async () => (await reload(job.id)).stage === 'transcribing' && (await engines()).length > 0,
        { timeoutMs: 240_000, what: 'pocketsphinx running in the worker process' },
      );
      const engine = await engines();
      const deadScratch = (await readdir(tmpRoot)).filter((d) => d.startsWith('worker-'));
      expect(deadScratch).toHaveLength(1);
      await first.kill();
      const killedAt = Date.now();
      await waitFor(
        async () =>
          (await processesMentioning(tmpRoot)).every((p) => p.zombie) &&
          (await Promise.all(engine.map((p) => running(p.pid)))).every((r) => !r),
        { timeoutMs: 240_000, what: "the killed worker's children to be gone" },
      );
      logger.info({ ms: Date.now() - killedAt }, 'children gone after SIGKILL');
      // Left behind by the dead worker…
      expect(await readdir(tmpRoot)).toEqual(deadScratch);
      await start();
      // …and removed by the next one, which also finishes the job once the lease is gone.
      const remaining = await readdir(tmpRoot);
      expect(remaining).not.toContain(deadScratch[0]);
      const done = await settled(job.id, 240_000);
      expect([done.status, done.attempts, done.lost_attempts]).toEqual(['completed', 2, 1]);
    } finally {
      for (const w of workers) await w.stop(20_000);
      workers = [];
      await rm(tmpRoot, { recursive: true, force: true });
    }
  });
});
