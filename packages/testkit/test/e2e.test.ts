// The whole path on real parts: presigned upload to S3, gateway, RabbitMQ, worker with
// ffmpeg and pocketsphinx, notifier over WebSocket, Postgres underneath. Services run as
// separate processes from their built code, exactly as deployed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CreateJobResponse,
  PutUploadResponse,
  ErrorBody,
  Job,
  JobEventList,
  TranscriptJson,
} from '@transcribe/contracts';
import {
  collectEvents,
  createTestEnv,
  audioFixture,
  JFK_REFERENCE,
  librivoxClips,
  rawSphinxTranscript,
  seedTenant,
  startStack,
  wordErrorRate,
  type Stack,
  type TestEnv,
} from '../src/index.js';

const KEY_A = `test-key-a-${randomBytes(8).toString('hex')}`;
const KEY_B = `test-key-b-${randomBytes(8).toString('hex')}`;
let env: TestEnv;
let stack: Stack;

beforeAll(async () => {
  env = await createTestEnv();
  await seedTenant(env.db, 'tenant-b', { apiKey: KEY_B, keyName: 'b' });
  stack = await startStack({ env: { ...env.env, DEV_API_KEY: KEY_A } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await env?.close();
});

function api(path: string, init: RequestInit & { key?: string } = {}) {
  const { key = KEY_A, ...rest } = init;
  return fetch(`${stack.gatewayUrl}${path}`, {
    ...rest,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...rest.headers,
    },
  });
}

async function createUpload(filename: string, contentType: string, sizeBytes: number) {
  const res = await api('/v1/uploads', {
    method: 'POST',
    body: JSON.stringify({ filename, contentType, sizeBytes }),
  });
  expect(res.status).toBe(201);
  return PutUploadResponse.parse(await res.json());
}

async function uploadBytes(filename: string, contentType: string, bytes: Buffer) {
  const upload = await createUpload(filename, contentType, bytes.length);
  const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes });
  expect(put.status).toBe(200);
  return upload;
}

async function createJob(uploadId: string) {
  const res = await api('/v1/jobs', { method: 'POST', body: JSON.stringify({ uploadId }) });
  expect(res.status).toBe(202);
  return CreateJobResponse.parse(await res.json());
}

async function transcribe(file: string, contentType: string) {
  const bytes = await readFile(file);
  const upload = await uploadBytes(file.split('/').pop()!, contentType, bytes);
  const job = await createJob(upload.uploadId);
  const live = await collectEvents(job.links.events);
  return { job, live };
}

function expectGapFree(events: { seq: number }[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
}

async function transcript(jobId: string) {
  const res = await api(`/v1/jobs/${jobId}/transcript?format=json`);
  expect(res.status).toBe(200);
  return TranscriptJson.parse(await res.json());
}

describe.each([
  ['jfk.wav', () => audioFixture('jfk.wav'), 'audio/wav', () => JFK_REFERENCE],
  ['jfk.mp3', () => audioFixture('jfk.mp3'), 'audio/mpeg', () => JFK_REFERENCE],
  [
    'a LibriVox clip',
    () => librivoxClips()[0]!.wav,
    'audio/wav',
    () => librivoxClips()[0]!.reference,
  ],
])('%s through the whole stack', (_name, file, contentType, reference) => {
  it('streams queued → processing → progress → completed and transcribes as well as pocketsphinx alone', async () => {
    const { job, live } = await transcribe(file(), contentType);

    expectGapFree(live.events);
    const types = live.events.map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types[1]).toBe('processing');
    expect(types.at(-1)).toBe('completed');
    // The completed frame links to this stack's gateway, on its real port.
    expect(live.links?.['transcript']).toMatch(
      new RegExp(`^${stack.gatewayUrl}/v1/jobs/${job.id}/`),
    );
    expect(types.filter((t) => t === 'progress').length).toBeGreaterThanOrEqual(3);
    const progress = live.events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    const result = await transcript(job.id);
    const baseline = wordErrorRate(reference(), await rawSphinxTranscript(file()));
    const ours = wordErrorRate(reference(), result.text);
    expect(ours).toBeLessThanOrEqual(baseline + 0.05);
    expect(result.segments.length).toBeGreaterThan(0);
    for (const s of result.segments) expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(result.durationS).toBeGreaterThan(1);

    const txt = await api(`/v1/jobs/${job.id}/transcript?format=txt`);
    expect(txt.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await txt.text()).trim()).toBe(result.text);
  });
});

describe('exposure', () => {
  /** Local addresses of the listening TCP sockets on `port`, from the kernel's own table. */
  function listeners(port: number): string[] {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        // st 0A is LISTEN
        .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')
        .map((f) => f[1]!.split(':')[0]!),
    );
  }

  it('listens on the loopback address only (HOST=127.0.0.1 under a development stack)', () => {
    for (const url of [stack.gatewayUrl, stack.notifierUrl]) {
      // 0100007F is 127.0.0.1 as /proc/net/tcp writes it (little-endian hex).
      expect(listeners(Number(new URL(url).port))).toEqual(['0100007F']);
    }
  });
});

describe('after the fact and across tenants', () => {
  let jobId: string;
  let token: string;
  let eventsUrl: string;

  beforeAll(async () => {
    const { job } = await transcribe(audioFixture('jfk.wav'), 'audio/wav');
    jobId = job.id;
    token = job.eventsToken;
    eventsUrl = job.links.events;
  });

  it('replays every event to a subscriber that connects after the job finished', async () => {
    const base = `${stack.env.EVENTS_PUBLIC_URL}/v1/events?jobId=${jobId}`;
    const replay = await collectEvents(base, { headers: { authorization: `Bearer ${KEY_A}` } });
    expectGapFree(replay.events);
    expect(replay.events.at(-1)?.type).toBe('completed');

    const rest = JobEventList.parse(await (await api(`/v1/jobs/${jobId}/events`)).json());
    expect(rest.events).toEqual(replay.events);

    // Resume from the middle: only what comes after.
    const resumed = await collectEvents(`${eventsUrl}&after=3`);
    expect(resumed.events.map((e) => e.seq)).toEqual(replay.events.slice(3).map((e) => e.seq));
  });

  it('answers 404 to another tenant for the job, its transcript and its events', async () => {
    for (const path of [
      `/v1/jobs/${jobId}`,
      `/v1/jobs/${jobId}/transcript`,
      `/v1/jobs/${jobId}/events`,
    ]) {
      const res = await api(path, { key: KEY_B });
      expect(res.status).toBe(404);
      expect(ErrorBody.parse(await res.json()).error.code).toBe('not_found');
    }
    const ws = await collectEvents(`${stack.env.EVENTS_PUBLIC_URL}/v1/events?jobId=${jobId}`, {
      headers: { authorization: `Bearer ${KEY_B}` },
    });
    expect(ws.closeCode).toBe(4404);
    expect(ws.events).toEqual([]);
  });

  it('refuses a tampered events token and one for another job', async () => {
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const bad = await collectEvents(
      `${stack.env.EVENTS_PUBLIC_URL}/v1/events?jobId=${jobId}&token=${tampered}`,
    );
    expect(bad.closeCode).toBe(4401);
    const other = await collectEvents(
      `${stack.env.EVENTS_PUBLIC_URL}/v1/events?jobId=${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}&token=${token}`,
    );
    expect(other.closeCode).toBe(4404);
  });
});

describe('bad input', () => {
  it('refuses random bytes at the gateway (415) and deletes them', async () => {
    const garbage = await uploadBytes('noise.wav', 'audio/wav', randomBytes(64 * 1024));
    const res = await api('/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ uploadId: garbage.uploadId }),
    });
    expect(res.status).toBe(415);
    expect(ErrorBody.parse(await res.json()).error.code).toBe('unsupported_media_type');
    const { object_key } = await env.db
      .selectFrom('uploads')
      .select('object_key')
      .where('id', '=', garbage.uploadId)
      .executeTakeFirstOrThrow();
    expect(await env.storage.head(object_key)).toBeUndefined();
  });

  it('fails a file that only looks like a WAV with invalid_media and then completes the next job', async () => {
    // A RIFF/WAVE header passes the gateway's signature check; ffprobe finds no audio in it.
    const fake = Buffer.concat([
      Buffer.from('RIFF'),
      Buffer.alloc(4),
      Buffer.from('WAVE'),
      randomBytes(64 * 1024),
    ]);
    const garbage = await uploadBytes('noise.wav', 'audio/wav', fake);
    const bad = await createJob(garbage.uploadId);
    const good = await transcribe(audioFixture('jfk.wav'), 'audio/wav');

    const badEvents = await collectEvents(bad.links.events);
    const failed = badEvents.events.at(-1);
    expect(failed?.type).toBe('failed');
    if (failed?.type !== 'failed') throw new Error('unreachable');
    expect(failed.error.code).toBe('invalid_media');
    expect(failed.error.message.length).toBeGreaterThan(10);

    const job = Job.parse(await (await api(`/v1/jobs/${bad.id}`)).json());
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('invalid_media');
    const notDone = await api(`/v1/jobs/${bad.id}/transcript`);
    expect(notDone.status).toBe(409);
    expect(ErrorBody.parse(await notDone.json()).error.code).toBe('job_not_completed');

    expect(good.live.events.at(-1)?.type).toBe('completed');
  });

  it('refuses a job for an upload that never happened, and queues nothing', async () => {
    const size = (await stat(audioFixture('jfk.wav'))).size;
    const upload = await createUpload('never.wav', 'audio/wav', size);
    const before = await env.db
      .selectFrom('jobs')
      .select(env.db.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();

    const res = await api('/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ uploadId: upload.uploadId }),
    });
    expect(res.status).toBe(409);
    expect(ErrorBody.parse(await res.json()).error.code).toBe('upload_missing');

    const unknown = await api('/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ uploadId: '01890000-0000-7000-8000-000000000000' }),
    });
    expect(unknown.status).toBe(404);
    expect(ErrorBody.parse(await unknown.json()).error.code).toBe('upload_not_found');

    const after = await env.db
      .selectFrom('jobs')
      .select(env.db.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toEqual(before.n);
    const outbox = await env.db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', 'jobs')
      .execute();
    expect(outbox).toEqual([]);
  });

  it('refuses a tampered presigned URL at S3', async () => {
    const bytes = Buffer.from('not uploaded');
    const upload = await createUpload('x.wav', 'audio/wav', bytes.length);
    const url = new URL(upload.url);
    url.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const put = await fetch(url, { method: 'PUT', headers: upload.headers, body: bytes });
    expect(put.status).toBe(403);
  });
});

describe('faults and shutdown', () => {
  it('completes a job exactly once when its worker is SIGKILLed mid-transcription', async () => {
    const clip = librivoxClips()[0]!.wav;
    // Long enough that the kill lands while pocketsphinx is running.
    const long = longRecording(clip, 8);
    const bytes = await readFile(long);
    rmSync(dirname(long), { recursive: true, force: true });
    const upload = await uploadBytes('long.wav', 'audio/wav', bytes);
    const job = await createJob(upload.uploadId);

    const [victim] = [...stack.services.keys()].filter((k) => k.startsWith('worker'));
    const seen = await collectEvents(job.links.events, {
      // The stage's first event comes as the engine starts (a stage change is never held back
      // by the progress throttle); later ones may not come before the end on a busy machine.
      until: (e) => e.type === 'progress' && e.stage === 'transcribing',
    });
    expect(seen.events.at(-1)?.type).toBe('progress');
    await stack.services.get(victim!)!.kill();
    stack.services.delete(victim!);
    await stack.addWorker();

    const all = await collectEvents(job.links.events, { timeoutMs: 180_000 });
    expectGapFree(all.events);
    const types = all.events.map((e) => e.type);
    expect(types.filter((t) => t === 'completed')).toHaveLength(1);
    expect(types.at(-1)).toBe('completed');
    const attempts = all.events.flatMap((e) => (e.type === 'processing' ? [e.attempt] : []));
    expect(attempts).toEqual([1, 2]);
    const result = await transcript(job.id);
    expect(result.text.split(' ').length).toBeGreaterThan(20);
  }, 240_000);

  it('stops every service cleanly on SIGTERM (exit 0)', async () => {
    for (const [name, service] of stack.services) {
      expect([name, await service.stop()]).toEqual([name, 0]);
    }
  });
});

function longRecording(clip: string, times: number): string {
  const out = join(mkdtempSync(join(tmpdir(), 'e2e-long-')), 'long.wav');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-stream_loop',
    String(times - 1),
    '-i',
    clip,
    '-c',
    'copy',
    out,
  ]);
  return out;
}
