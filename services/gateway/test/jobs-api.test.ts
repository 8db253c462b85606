// Jobs after creation: options, Idempotency-Key, listing, cancel, retry, delete, transcripts
// in every format (partial too), rate limits and metrics — on real Postgres, RabbitMQ, S3.
import pg from 'pg';
import { parseSync } from 'subtitle';
import {
  CreateJobResponse,
  Job,
  JobEventList,
  JobList,
  TranscriptJson,
  type Segment,
  type Word,
} from '@transcribe/contracts';
import {
  claimJob,
  completeJob,
  ensureChunkPlan,
  failJob,
  storeChunkResult,
  type JobRow,
} from '@transcribe/db';
import { createRegistry } from '@transcribe/telemetry';
import { createRateLimits } from '../src/rate-limit.js';
import { MAX_LINE_CHARS } from '../src/subtitles.js';
import { expectError, startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function newJob(key = h.keyA, extra: Record<string, unknown> = {}) {
  const upload = await h.uploadJfk(key);
  const res = await h.createJob(upload.uploadId, key, extra);
  expect(res.status).toBe(202);
  return CreateJobResponse.parse(res.json);
}

/** Waits until `n` messages for the job have reached the jobs queue. */
async function messagesFor(jobId: string, n: number) {
  for (let i = 0; i < 200 && h.jobMessages.filter((m) => m.body.jobId === jobId).length < n; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(h.jobMessages.filter((m) => m.body.jobId === jobId).length).toBeGreaterThanOrEqual(n);
}

async function row(id: string): Promise<JobRow | undefined> {
  return h.env.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

async function events(id: string) {
  const res = await h.api(`/v1/jobs/${id}/events`);
  return JobEventList.parse(res.json).events.map((e) => e.type);
}

const SEGMENTS: Segment[] = [
  { start: 0, end: 2.4, text: 'And so, my fellow Americans,' },
  {
    start: 2.4,
    end: 11,
    text: 'ask not what your country can do for you, ask what you can do for your country, and do it with a remarkably long sentence that must wrap over several caption lines.',
  },
];

/** Drives a job to completed through the same guarded updates the worker uses. */
async function complete(id: string, segments = SEGMENTS, words: Word[] = []) {
  const claimed = await claimJob(h.env.db, id, { leaseMs: 60_000, takeOver: false });
  await completeJob(h.env.db, {
    id,
    attempt: claimed!.attempts,
    text: segments.map((s) => s.text).join(' '),
    segments,
    words,
    durationS: 11,
    processingMs: 1234,
    model: 'en-us',
  });
}

/** A processing job cut into two chunks, of which only the first is transcribed. */
async function runningWithFirstChunk(first: {
  text: string;
  segments: Segment[];
  words?: Word[];
  model: string;
}) {
  const job = await newJob();
  const claimed = await claimJob(h.env.db, job.id, { leaseMs: 60_000, takeOver: false });
  await ensureChunkPlan(h.env.db, job.id, [
    { startS: 0, endS: 5 },
    { startS: 5, endS: 11 },
  ]);
  await storeChunkResult(h.env.db, {
    jobId: job.id,
    index: 0,
    attempt: claimed!.attempts,
    ...first,
    processingMs: 10,
  });
  return job;
}

describe('job options', () => {
  it('keeps model, webhookUrl and metadata and shows them on the job', async () => {
    const job = await newJob(h.keyA, {
      model: 'Systran/faster-whisper-small',
      webhookUrl: 'https://hooks.example.com/transcribe',
      metadata: { customer: 'c-42', episode: '7' },
    });
    expect(job).toMatchObject({
      model: 'Systran/faster-whisper-small',
      webhookUrl: 'https://hooks.example.com/transcribe',
      metadata: { customer: 'c-42', episode: '7' },
      attempts: 0,
    });
    expect(Job.parse((await h.api(`/v1/jobs/${job.id}`)).json).metadata).toEqual(job.metadata);
  });

  it.each([
    ['a webhook that is not http(s)', { webhookUrl: 'ftp://example.com/x' }],
    ['a webhook that is not a URL', { webhookUrl: 'hooks' }],
    ['metadata with a non-string value', { metadata: { n: 1 } }],
    [
      'metadata with 33 keys',
      { metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
    ],
    ['a model with ".."', { model: '../../etc/passwd' }],
    ['a model that is empty', { model: '' }],
  ])('refuses %s with 400 validation_failed and queues nothing', async (_what, extra) => {
    const upload = await h.uploadJfk();
    expectError(await h.createJob(upload.uploadId, h.keyA, extra), 400, 'validation_failed');
    const used = await h.env.db
      .selectFrom('uploads')
      .select('status')
      .where('id', '=', upload.uploadId)
      .executeTakeFirstOrThrow();
    expect(used.status).toBe('pending');
  });

  it('refuses an engine this deployment does not enable with 422 engine_unavailable', async () => {
    const upload = await h.uploadJfk();
    const error = expectError(
      await h.createJob(upload.uploadId, h.keyA, { engine: 'openai' }),
      422,
      'engine_unavailable',
    );
    expect(error.message).toContain('sphinx');
  });
});

describe('Idempotency-Key', () => {
  async function create(key: string, uploadId: string, extra: Record<string, unknown> = {}) {
    return h.api('/v1/jobs', {
      method: 'POST',
      headers: { 'idempotency-key': key },
      body: { uploadId, ...extra },
    });
  }

  it('answers the same job for the same key and body, 409 for another body', async () => {
    const upload = await h.uploadJfk();
    const key = `k-${Date.now()}`;
    const first = await create(key, upload.uploadId, { priority: 'high' });
    expect(first.status).toBe(202);
    const again = await create(key, upload.uploadId, { priority: 'high' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(CreateJobResponse.parse(again.json).id).toBe(CreateJobResponse.parse(first.json).id);
    expect(await events(CreateJobResponse.parse(first.json).id)).toEqual(['queued']);
    const other = await create(key, upload.uploadId, { priority: 'low' });
    expect(expectError(other, 409, 'idempotency_conflict').message).toMatch(/different/);
  });

  it('makes one job when two requests with the same key race', async () => {
    const upload = await h.uploadJfk();
    const key = `race-${Date.now()}`;
    const [a, b] = await Promise.all([create(key, upload.uploadId), create(key, upload.uploadId)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(CreateJobResponse.parse(a.json).id).toBe(CreateJobResponse.parse(b.json).id);
    const count = await h.env.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('idempotency_key', '=', key)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('is per tenant: the same key in another tenant makes its own job', async () => {
    const key = `shared-${Date.now()}`;
    const a = await create(key, (await h.uploadJfk()).uploadId);
    const uploadB = await h.uploadJfk(h.keyB);
    const b = await h.api('/v1/jobs', {
      method: 'POST',
      key: h.keyB,
      headers: { 'idempotency-key': key },
      body: { uploadId: uploadB.uploadId },
    });
    expect(b.status).toBe(202);
    expect(CreateJobResponse.parse(b.json).id).not.toBe(CreateJobResponse.parse(a.json).id);
  });

  it('refuses a malformed key with 400', async () => {
    const upload = await h.uploadJfk();
    expectError(await create('x'.repeat(256), upload.uploadId), 400, 'validation_failed');
    expectError(await create('', upload.uploadId), 400, 'validation_failed');
  });
});

describe('GET /v1/jobs', () => {
  let ids: string[];
  beforeAll(async () => {
    // A tenant of its own, so other tests' jobs do not count.
    const { ensureTenant, insertApiKey } = await import('@transcribe/db');
    const tenant = await ensureTenant(h.env.db, 'tenant-list');
    await insertApiKey(h.env.db, {
      tenantId: tenant,
      name: 'l',
      key: 'tk_list_key_0123456789abcdef',
    });
    ids = [];
    for (let i = 0; i < 5; i++) ids.push((await newJob('tk_list_key_0123456789abcdef')).id);
    await complete(ids[1]!);
  });
  const list = (query: string) =>
    h.api(`/v1/jobs${query}`, { key: 'tk_list_key_0123456789abcdef' });

  it('pages newest first with a cursor until the end', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = JobList.parse(res.json);
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status (one or several) and by creation time', async () => {
    expect(JobList.parse((await list('?status=completed')).json).data.map((j) => j.id)).toEqual([
      ids[1],
    ]);
    expect(JobList.parse((await list('?status=queued,completed')).json).data).toHaveLength(5);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(JobList.parse((await list(`?createdAfter=${future}`)).json).data).toEqual([]);
    expect(JobList.parse((await list(`?createdBefore=${future}`)).json).data).toHaveLength(5);
  });

  it('answers 400 for a bad status, limit, date or cursor', async () => {
    for (const q of [
      '?status=done',
      '?limit=0',
      '?limit=101',
      '?createdAfter=yesterday',
      '?cursor=abc',
      '?cursor=eyJpZCI6MX0',
    ]) {
      expectError(await list(q), 400, 'validation_failed');
    }
  });

  it("shows no other tenant's jobs", async () => {
    const page = JobList.parse((await h.api('/v1/jobs?limit=100', { key: h.keyB })).json);
    expect(page.data.some((j) => ids.includes(j.id))).toBe(false);
  });
});

describe('progress you can trust (issue 16)', () => {
  it('shows queued jobs their place (one query per page) and a processing job its figures, ETA and stall', async () => {
    // Only this case's jobs are queued: the queue is global, whatever the tenant.
    await h.env.db
      .updateTable('jobs')
      .set({ status: 'canceled' })
      .where('status', '=', 'queued')
      .execute();
    const a = await newJob();
    const b = await newJob();
    const c = await newJob();
    const list = JobList.parse((await h.api('/v1/jobs?limit=3')).json);
    const place = (id: string) => list.data.find((j) => j.id === id)?.queuePosition;
    expect([place(a.id), place(b.id), place(c.id)]).toEqual([0, 1, 2]);
    const one = Job.parse((await h.api(`/v1/jobs/${b.id}`)).json);
    expect(one.queuePosition).toBe(1);
    expect([one.audioDoneS, one.etaS, one.stalledSinceS]).toEqual([null, null, null]);

    // a is taken by a worker that reported 30 of 60 s, then stopped moving long ago.
    const claimed = await claimJob(h.env.db, a.id, { leaseMs: 60_000, takeOver: false });
    await h.env.db
      .updateTable('jobs')
      .set({
        audio_done_s: 30,
        audio_total_s: 60,
        eta_s: 25,
        progress_moved_at: new Date(Date.now() - 3_600_000),
      })
      .where('id', '=', a.id)
      .execute();
    const running = Job.parse((await h.api(`/v1/jobs/${a.id}`)).json);
    expect(running).toMatchObject({
      status: 'processing',
      audioDoneS: 30,
      etaS: 25,
      queuePosition: null,
    });
    expect(running.stalledSinceS).toBeGreaterThanOrEqual(3590);
    expect(claimed?.attempts).toBe(1);
    // b moved up.
    expect(Job.parse((await h.api(`/v1/jobs/${b.id}`)).json).queuePosition).toBe(0);
    const metrics = (await h.api('/metrics', { key: null })).text;
    expect(metrics).toMatch(/transcribe_jobs_stalled(\{[^}]*\})? [1-9]/);
  });
});

describe('cancel, retry, delete', () => {
  it('cancels a queued job at once, with a canceled event; canceling again is a no-op', async () => {
    const job = await newJob();
    const res = await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(Job.parse(res.json).status).toBe('canceled');
    expect(await events(job.id)).toEqual(['queued', 'canceled']);
    expect((await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await events(job.id)).toEqual(['queued', 'canceled']);
  });

  it('cancels a processing job (the worker stops at its next chunk)', async () => {
    const job = await newJob();
    await claimJob(h.env.db, job.id, { leaseMs: 60_000, takeOver: false });
    const res = await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(Job.parse(res.json).status).toBe('canceled');
    // The worker's next guarded write finds the job gone from under it.
    expect(
      await storeChunkResult(h.env.db, {
        jobId: job.id,
        index: 0,
        attempt: 1,
        text: 'x',
        segments: [],
        model: null,
        processingMs: 1,
      }),
    ).toBe(false);
  });

  it('refuses to cancel a completed job with 409 invalid_job_state; 404 for others', async () => {
    const job = await newJob();
    await complete(job.id);
    const error = expectError(
      await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' }),
      409,
      'invalid_job_state',
    );
    expect(error.details).toEqual({ status: 'completed' });
    expectError(
      await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST', key: h.keyB }),
      404,
      'not_found',
    );
    expectError(
      await h.api('/v1/jobs/00000000-0000-7000-8000-000000000000/cancel', { method: 'POST' }),
      404,
      'not_found',
    );
  });

  it('retries a failed job: queued again, with a new message, and a fresh attempt budget', async () => {
    const job = await newJob();
    const claimed = await claimJob(h.env.db, job.id, { leaseMs: 60_000, takeOver: false });
    await failJob(h.env.db, {
      id: job.id,
      attempt: claimed!.attempts,
      code: 'engine_failed',
      message: 'boom',
    });
    // The creation's own message first, so the retry's is the only one still to come.
    await messagesFor(job.id, 1);
    const res = await h.api(`/v1/jobs/${job.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(Job.parse(res.json)).toMatchObject({ status: 'queued', error: null, progress: 0 });
    expect((await row(job.id))?.retry_base).toBe(claimed!.attempts);
    // (claimJob and failJob here are the bare row updates; the worker adds their events.)
    expect(await events(job.id)).toEqual(['queued', 'queued']);
    await messagesFor(job.id, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.jobMessages.filter((m) => m.body.jobId === job.id)).toHaveLength(2);
  });

  it('refuses to retry a queued job with 409 invalid_job_state', async () => {
    const job = await newJob();
    expectError(
      await h.api(`/v1/jobs/${job.id}/retry`, { method: 'POST' }),
      409,
      'invalid_job_state',
    );
  });

  it('deletes a job with its events, upload and object; idempotent; other tenants cannot', async () => {
    const job = await newJob();
    const { object_key, upload_id } = (await row(job.id))!;
    expectError(await h.api(`/v1/jobs/${job.id}`, { key: h.keyB }), 404, 'not_found');
    expect((await h.api(`/v1/jobs/${job.id}`, { method: 'DELETE', key: h.keyB })).status).toBe(204);
    expect(await row(job.id)).toBeDefined();

    expect((await h.api(`/v1/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await row(job.id)).toBeUndefined();
    expect(await h.storage.head(object_key)).toBeUndefined();
    expect(
      await h.env.db.selectFrom('job_events').select('seq').where('job_id', '=', job.id).execute(),
    ).toEqual([]);
    expect(
      await h.env.db.selectFrom('uploads').select('id').where('id', '=', upload_id!).execute(),
    ).toEqual([]);
    expectError(await h.api(`/v1/jobs/${job.id}`), 404, 'not_found');
    expect((await h.api(`/v1/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await h.api('/v1/jobs/not-a-uuid', { method: 'DELETE' })).status).toBe(204);
  });
});

describe('transcripts', () => {
  let id: string;
  beforeAll(async () => {
    id = (await newJob()).id;
    await complete(id);
  });
  const get = (format: string) => h.api(`/v1/jobs/${id}/transcript?format=${format}`);

  it('serves json with every field, marked complete', async () => {
    const body = TranscriptJson.parse((await get('json')).json);
    expect(body).toMatchObject({
      jobId: id,
      segments: SEGMENTS,
      durationS: 11,
      engine: 'sphinx',
      model: 'en-us',
      processingMs: 1234,
      complete: true,
    });
  });

  it('serves SRT that a subtitle parser reads back, with lines of at most 42 characters', async () => {
    const res = await get('srt');
    expect(res.headers.get('content-type')).toMatch(/^application\/x-subrip/);
    expect(res.text).toMatch(
      /^1\n00:00:00,000 --> 00:00:02,400\nAnd so, my fellow Americans,\n\n2\n00:00:02,400 --> /,
    );
    const cues = parseSync(res.text).filter((n) => n.type === 'cue');
    expect(cues.length).toBeGreaterThanOrEqual(3);
    let last = 0;
    for (const cue of cues) {
      const { start, end, text } = cue.data as { start: number; end: number; text: string };
      expect(start).toBeGreaterThanOrEqual(last);
      expect(end).toBeGreaterThan(start);
      last = end;
      const lines = text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    }
    expect(last).toBe(11_000);
    const words = cues
      .map((c) => (c.data as { text: string }).text)
      .join(' ')
      .split(/\s+/);
    expect(words).toEqual(
      SEGMENTS.map((s) => s.text)
        .join(' ')
        .split(/\s+/),
    );
  });

  it('serves WebVTT with its header and dot-separated timestamps', async () => {
    const res = await get('vtt');
    expect(res.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(res.text.startsWith('WEBVTT\n\n00:00:00.000 --> 00:00:02.400\n')).toBe(true);
    const cues = parseSync(res.text).filter((n) => n.type === 'cue');
    expect(cues.length).toBe(
      parseSync((await get('srt')).text).filter((n) => n.type === 'cue').length,
    );
  });

  it('serves the partial transcript while the job runs, and 409 without ?partial', async () => {
    const job = await runningWithFirstChunk({
      text: 'and so my fellow americans',
      segments: [{ start: 0.5, end: 2.4, text: 'and so my fellow americans' }],
      model: 'en-us',
    });
    expectError(await h.api(`/v1/jobs/${job.id}/transcript`), 409, 'job_not_completed');
    const res = await h.api(`/v1/jobs/${job.id}/transcript?partial=true`);
    expect(res.headers.get('transcript-complete')).toBe('false');
    expect(TranscriptJson.parse(res.json)).toMatchObject({
      text: 'and so my fellow americans',
      complete: false,
    });
    const srt = await h.api(`/v1/jobs/${job.id}/transcript?partial=true&format=srt`);
    expect(srt.text).toBe('1\n00:00:00,500 --> 00:00:02,400\nand so my fellow americans\n');
  });
});

describe('words and speakers in transcripts', () => {
  const segments: Segment[] = [
    { start: 0, end: 2, text: 'and so', speaker: 'A' },
    { start: 3, end: 4, text: 'ask not', speaker: 'B' },
  ];
  const words: Word[] = [
    { start: 0, end: 0.5, word: 'and', confidence: 0.9 },
    { start: 0.6, end: 2, word: 'so' },
    { start: 3, end: 3.4, word: 'ask', confidence: 0.25 },
    { start: 3.5, end: 4, word: 'not', confidence: 1 },
  ];
  let id: string;
  beforeAll(async () => {
    id = (await newJob()).id;
    await complete(id, segments, words);
  });
  const get = (format: string) => h.api(`/v1/jobs/${id}/transcript?format=${format}`);

  it('serves words and speakers in json', async () => {
    const body = TranscriptJson.parse((await get('json')).json);
    expect(body.words).toEqual(words);
    expect(body.segments).toEqual(segments);
  });

  it('names the speaker in srt and vtt cues', async () => {
    expect((await get('srt')).text).toBe(
      '1\n00:00:00,000 --> 00:00:02,000\n[A] and so\n\n2\n00:00:03,000 --> 00:00:04,000\n[B] ask not\n',
    );
    const vtt = (await get('vtt')).text;
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v A>and so\n\n00:00:03.000 --> 00:00:04.000\n<v B>ask not\n',
    );
    const cues = parseSync(vtt).filter((n) => n.type === 'cue');
    expect(cues).toHaveLength(2);
  });

  it("serves the partial transcript with the chunks' words and speakers renamed", async () => {
    const job = await runningWithFirstChunk({
      text: 'and so ask not',
      segments: [
        { start: 0, end: 2, text: 'and so', speaker: 'SPEAKER_01' },
        { start: 3, end: 4, text: 'ask not', speaker: 'SPEAKER_00' },
      ],
      words,
      model: 'gpt-4o-transcribe-diarize',
    });
    const body = TranscriptJson.parse(
      (await h.api(`/v1/jobs/${job.id}/transcript?partial=true`)).json,
    );
    expect(body).toMatchObject({ complete: false, words, segments });
    // Jobs whose engine gave no words (and rows from before words were stored) serve none.
    const plain = (await newJob()).id;
    await complete(plain);
    expect(TranscriptJson.parse((await h.api(`/v1/jobs/${plain}/transcript`)).json).words).toEqual(
      [],
    );
  });
});

describe('rate limits', () => {
  let pool: pg.Pool;
  afterAll(async () => pool?.end());

  it('answers 429 rate_limited with Retry-After once a tenant spends its budget; others go on', async () => {
    pool = new pg.Pool({ connectionString: h.env.databaseUrl, max: 2 });
    const at = await h.listen({
      ...h.deps,
      registry: createRegistry('gateway'),
      rateLimits: createRateLimits(pool, { jobs: 2, uploads: 3 }),
    });
    const body = { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 10 };
    for (let i = 0; i < 3; i++) {
      const ok = await h.api('/v1/uploads', { method: 'POST', body }, at);
      expect(ok.status).toBe(201);
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(2 - i));
    }
    const limited = await h.api('/v1/uploads', { method: 'POST', body }, at);
    expectError(limited, 429, 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another tenant has its own budget; job creation has its own too.
    expect((await h.api('/v1/uploads', { method: 'POST', body, key: h.keyB }, at)).status).toBe(
      201,
    );
    const upload = await h.uploadJfk();
    expect(
      (await h.api('/v1/jobs', { method: 'POST', body: { uploadId: upload.uploadId } }, at)).status,
    ).toBe(202);
  });
});

describe('metrics', () => {
  it('counts jobs created by priority and reports jobs by status and priority', async () => {
    await newJob(h.keyA, { priority: 'critical' });
    const text = (await h.api('/metrics', { key: null })).text;
    expect(text).toMatch(
      /transcribe_jobs_created_total\{priority="critical",engine="sphinx",service="gateway"\} [1-9]/,
    );
    expect(text).toMatch(
      /transcribe_jobs\{status="queued",priority="critical",service="gateway"\} [1-9]/,
    );
    expect(text).toMatch(
      /transcribe_jobs\{status="completed",priority="default",service="gateway"\} [1-9]/,
    );
  });
});
