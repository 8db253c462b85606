// Enrichments end to end (issue 15): the built gateway, notifier and workers as processes,
// real Postgres, RabbitMQ, S3, ffmpeg and PocketSphinx for the transcript, and the local
// OpenAI-compatible chat server (testkit) for the enrichments — answering slowly, with
// 429 + Retry-After, and recording every request. Nothing here is faked on our side.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  Enrichment,
  EnrichmentJson,
  ErrorBody,
  Job,
  JobEventList,
  TranscriptJson,
  type JobEvent,
} from '@transcribe/contracts';
import {
  audioFixture,
  createFaultAudio,
  createTestEnv,
  freePort,
  startChatServer,
  startService,
  startStack,
  waitFor,
  type ChatServer,
  type FaultAudio,
  type ServiceProcess,
  type Stack,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';

// Recognition and the slow chat answers run at a fraction of their idle speed on a busy box.
jest.setTimeout(600_000);

const KEY = `enrich-key-${randomBytes(8).toString('hex')}`;
const auth = { authorization: `Bearer ${KEY}` };
let env: TestEnv;
let chat: ChatServer;
let audio: FaultAudio;
let stack: Stack;

beforeAll(async () => {
  [env, chat, audio] = await Promise.all([
    createTestEnv(),
    startChatServer({ model: 'test-chat' }),
    createFaultAudio(),
  ]);
  stack = await startStack({
    env: {
      ...env.env,
      DEV_API_KEY: KEY,
      ENRICH_BASE_URL: chat.url,
      ENRICH_MODEL: 'test-chat',
      ENRICH_API_KEY: 'sk-enrich-test',
      // Small pieces, so a minute of speech is a many-piece map/reduce.
      ENRICH_PIECE_TOKENS: '40',
      ENRICH_MAX_RETRIES: '3',
      RETRY_BASE_MS: '500',
    },
    // Lanes on their own processes, as in Kubernetes: one transcribes, one enriches.
    workers: 0,
  });
  await stack.addWorker({ WORKER_LANES: 'transcribe' });
}, 300_000);
afterAll(async () => {
  await stack?.stop();
  await Promise.all([chat?.close(), audio?.close(), env?.close()]);
});

/** An enrich-only worker; returns its process so a test can kill it. */
async function enrichWorker(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const id = await stack.addWorker({ WORKER_LANES: 'enrich', ...extra });
  return stack.services.get(id)!;
}

async function submit(file: string, enrich: unknown): Promise<Response> {
  const form = new FormData();
  form.set('enrich', JSON.stringify(enrich));
  form.set('file', new Blob([await readFile(file)], { type: 'audio/wav' }), basename(file));
  return fetch(`${stack.gatewayUrl}/v1/jobs/upload`, { method: 'POST', headers: auth, body: form });
}

async function submitted(file: string, enrich: unknown): Promise<string> {
  const res = await submit(file, enrich);
  expect(res.status).toBe(202);
  return Job.parse(await res.json()).id;
}

async function job(id: string): Promise<Job> {
  const res = await fetch(`${stack.gatewayUrl}/v1/jobs/${id}`, { headers: auth });
  expect(res.status).toBe(200);
  return Job.parse(await res.json());
}

const settled = (e: Enrichment) => ['completed', 'failed', 'canceled'].includes(e.status);

/** Waits for the job to complete and every enrichment to settle. */
async function allSettled(id: string): Promise<Job> {
  return waitFor(
    async () => {
      const current = await job(id);
      if (current.status === 'failed' || current.status === 'canceled') {
        throw new Error(`job ${id} ${current.status}: ${JSON.stringify(current.error)}`);
      }
      return current.status === 'completed' && current.enrichments.every(settled)
        ? current
        : undefined;
    },
    { timeoutMs: 480_000, intervalMs: 500, what: `job ${id} and its enrichments to settle` },
  );
}

async function enrichmentOf(id: string, key: string): Promise<Enrichment> {
  const found = (await job(id)).enrichments.find((e) => e.key === key);
  if (!found) throw new Error(`job ${id} has no enrichment ${key}`);
  return found;
}

async function result(id: string, key: string, format: string): Promise<Response> {
  return fetch(
    `${stack.gatewayUrl}/v1/jobs/${id}/enrichments/${encodeURIComponent(key)}?format=${format}`,
    { headers: auth },
  );
}

async function events(id: string): Promise<JobEvent[]> {
  const res = await fetch(`${stack.gatewayUrl}/v1/jobs/${id}/events`, { headers: auth });
  expect(res.status).toBe(200);
  return JobEventList.parse(await res.json()).events;
}

const userContent = (r: ChatServer['requests'][number]) =>
  r.messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');

describe('with an enrich worker', () => {
  let worker: ServiceProcess;
  beforeAll(async () => {
    worker = await enrichWorker();
  }, 300_000);
  afterAll(async () => {
    await worker?.stop();
  });

  it('completes all four kinds on one job, through a 429 with Retry-After', async () => {
    chat.queueFaults({ status: 429, retryAfterS: 2 });
    const id = await submitted(audioFixture('jfk.wav'), [
      'clean',
      'summary',
      'notes',
      { translate: 'de' },
    ]);
    const done = await allSettled(id);
    expect(done.enrichments.map((e) => [e.key, e.status])).toEqual([
      ['clean', 'completed'],
      ['summary', 'completed'],
      ['notes', 'completed'],
      ['translate:de', 'completed'],
    ]);
    for (const e of done.enrichments) {
      expect(e).toMatchObject({ model: 'test-chat', progress: 100, error: null });
      expect(e.promptVersion).toEqual(expect.any(String));
      expect(e.usage?.completionTokens).toBeGreaterThan(0);
    }

    // The 429 was answered, and its retry (the same request) waited the Retry-After asked for.
    const limited = chat.requests.find((r) => r.status === 429)!;
    expect(limited).toBeDefined();
    const retried = chat.requests.find(
      (r) =>
        r.at > limited.at &&
        r.status === 200 &&
        r.task === limited.task &&
        userContent(r) === userContent(limited),
    );
    expect(retried!.at - limited.at).toBeGreaterThanOrEqual(1900);

    // Every result in its formats; the translation keeps the transcript's timings.
    const transcript = TranscriptJson.parse(
      await (
        await fetch(`${stack.gatewayUrl}/v1/jobs/${id}/transcript?format=json`, { headers: auth })
      ).json(),
    );
    const translation = EnrichmentJson.parse(
      await (await result(id, 'translate:de', 'json')).json(),
    );
    expect(translation.result.shape).toBe('timed');
    if (translation.result.shape === 'timed') {
      expect(translation.result.segments.map((s) => [s.start, s.end])).toEqual(
        transcript.segments.map((s) => [s.start, s.end]),
      );
    }
    const srt = await result(id, 'translate:de', 'srt');
    expect(srt.status).toBe(200);
    expect(await srt.text()).toMatch(/^1\r?\n\d\d:\d\d:\d\d,\d\d\d --> /);
    const vtt = await result(id, 'translate:de', 'vtt');
    expect(await vtt.text()).toMatch(/^WEBVTT/);
    const summary = await result(id, 'summary', 'md');
    expect(summary.status).toBe(200);
    expect((await summary.text()).trim().length).toBeGreaterThan(0);
    expect((await result(id, 'summary', 'srt')).status).toBe(400);
    const clean = await result(id, 'clean', 'txt');
    expect((await clean.text()).trim().length).toBeGreaterThan(0);

    // On the job's one stream, after `completed`, with no gap in seq.
    const stream = await events(id);
    expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => i + 1));
    const completedAt = stream.findIndex((e) => e.type === 'completed');
    const finished = stream.filter((e) => e.type === 'enrichment.completed');
    expect(finished).toHaveLength(4);
    for (const e of finished) expect(stream.indexOf(e)).toBeGreaterThan(completedAt);

    // The transcript went to the model as data, in its own message, never in the instructions.
    for (const r of chat.requests.filter((q) => q.status === 200)) {
      const system = r.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join();
      expect(system).not.toMatch(/fellow americans/i);
    }
  });

  it('adds an enrichment to a finished job once (idempotent), and refuses an unknown kind', async () => {
    const id = await submitted(audioFixture('jfk.wav'), []);
    await allSettled(id);
    const ask = (kind: unknown) =>
      fetch(`${stack.gatewayUrl}/v1/jobs/${id}/enrichments`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ kind }),
      });
    const first = await ask('summary');
    expect(first.status).toBe(201);
    const again = await ask('summary');
    expect(again.status).toBe(200);
    expect(Enrichment.parse(await again.json()).id).toBe(Enrichment.parse(await first.json()).id);
    await allSettled(id);
    expect((await enrichmentOf(id, 'summary')).status).toBe('completed');

    const unknown = await ask('poetry');
    expect(unknown.status).toBe(400);
    const body = ErrorBody.parse(await unknown.json());
    expect(body.error.message).toMatch(/clean.*summary.*notes.*translate/);
    const refused = await submit(audioFixture('jfk.wav'), ['poetry']);
    expect(refused.status).toBe(400);
  });
});

it('splits a long transcript into pieces, resumes them on another worker after a kill, and combines them', async () => {
  // One request at a time, slowly, so the kill lands between stored pieces.
  chat.setDelay(1500);
  const first = await enrichWorker({ ENRICH_CONCURRENCY: '1', ENRICH_FANOUT: '1' });
  const before = chat.requests.length;
  const id = await submitted(await audio.long(60), ['summary']);
  const planned = await waitFor(
    async () => {
      const e = await enrichmentOf(id, 'summary');
      return e.piecesDone >= 2 ? e : undefined;
    },
    { timeoutMs: 480_000, intervalMs: 200, what: 'two pieces of the summary stored' },
  );
  expect(planned.piecesTotal).toBeGreaterThanOrEqual(4);
  await first.kill();
  const second = await enrichWorker({ ENRICH_CONCURRENCY: '1' });
  try {
    const done = await allSettled(id);
    const summary = done.enrichments[0]!;
    expect(summary).toMatchObject({ status: 'completed', progress: 100 });
    const pieces = summary.piecesTotal!;

    // Every piece was asked for; a stored piece never again (only the one in flight at the kill).
    const maps = chat.requests
      .slice(before)
      .filter((r) => r.task === 'summary' && r.status === 200);
    const byPiece = new Map<string, number>();
    for (const r of maps) byPiece.set(userContent(r), (byPiece.get(userContent(r)) ?? 0) + 1);
    expect(maps.length).toBeGreaterThanOrEqual(pieces);
    expect(maps.length).toBeLessThanOrEqual(pieces + 1);
    expect([...byPiece.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);
    expect(chat.requests.slice(before).some((r) => r.task === 'summary-reduce')).toBe(true);
    expect((await (await result(id, 'summary', 'md')).text()).trim().length).toBeGreaterThan(0);
  } finally {
    chat.setDelay(0);
    await second.stop();
  }
});

it('cancels an enrichment mid-request: the request is aborted and nothing is written after', async () => {
  chat.setDelay(60_000);
  const worker = await enrichWorker();
  try {
    const id = await submitted(audioFixture('jfk.wav'), ['notes']);
    const before = chat.requests.length;
    await waitFor(async () => (await enrichmentOf(id, 'notes')).status === 'processing', {
      timeoutMs: 480_000,
      what: 'the notes to be processing',
    });
    // Mid-request: `processing` comes with the claim, before the first request is sent;
    // a cancel in between is seen before any request and there is nothing to abort.
    await waitFor(() => chat.requests.slice(before).some((r) => r.status === 0 && !r.aborted), {
      timeoutMs: 60_000,
      what: 'a chat request in flight',
    });
    const res = await fetch(`${stack.gatewayUrl}/v1/jobs/${id}/enrichments/notes/cancel`, {
      method: 'POST',
      headers: auth,
    });
    expect(res.status).toBe(200);
    expect(Enrichment.parse(await res.json()).status).toBe('canceled');
    // The slow answer would take a minute: the worker gave up on it instead.
    await waitFor(() => chat.requests.slice(before).some((r) => r.aborted), {
      timeoutMs: 50_000,
      what: 'the in-flight chat request to be aborted',
    });
    const after = await events(id);
    const canceledAt = after.findIndex((e) => e.type === 'enrichment.canceled');
    expect(canceledAt).toBeGreaterThan(0);
    expect(after.slice(canceledAt + 1)).toEqual([]);
    expect((await enrichmentOf(id, 'notes')).status).toBe('canceled');
    expect((await result(id, 'notes', 'md')).status).toBe(409);
  } finally {
    chat.setDelay(0);
    await worker.stop();
  }
});

it('answers enrichment_unavailable where no chat engine is configured, and creates nothing', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { ENRICH_BASE_URL: _unset, ...rest } = stack.env;
  const gateway = await startService(
    'gateway',
    { ...rest, GATEWAY_PORT: String(port), PUBLIC_URL: url },
    `${url}/readyz`,
  );
  try {
    const listed = async () =>
      Job.array().parse(
        (
          (await (await fetch(`${url}/v1/jobs?limit=100`, { headers: auth })).json()) as {
            data: unknown[];
          }
        ).data,
      ).length;
    const count = await listed();
    const form = new FormData();
    form.set('enrich', JSON.stringify(['summary']));
    form.set('file', new Blob([await readFile(audioFixture('jfk.wav'))]), 'jfk.wav');
    const res = await fetch(`${url}/v1/jobs/upload`, { method: 'POST', headers: auth, body: form });
    expect(res.status).toBe(503);
    const body = ErrorBody.parse(await res.json());
    expect(body.error.code).toBe('enrichment_unavailable');
    expect(body.error.message).toMatch(/ENRICH_BASE_URL/);
    expect(await listed()).toBe(count);
  } finally {
    await gateway.stop();
  }
});
