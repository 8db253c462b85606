// Enrichments through the gateway (issue 15): asked for at creation (JSON and form), later
// by POST, listed, served in every format once completed, canceled, refused with 503 and
// nothing left behind where no chat engine is configured — on real Postgres, RabbitMQ, S3.
// Workers are not running: a "completed" enrichment is written straight into its row.
import { parseSync } from 'subtitle';
import { claimJob, completeJob } from '@transcribe/db';
import { connectBroker, type Broker } from '@transcribe/queue';
import {
  CreateJobResponse,
  EnrichMessage,
  Enrichment,
  EnrichmentJson,
  EnrichmentList,
  Job,
  JobEventList,
  JobList,
  type EnrichmentResult,
} from '@transcribe/contracts';
import { createRegistry } from '@transcribe/telemetry';
import {
  expectError,
  recordingUploads,
  startGatewayHarness,
  type GatewayHarness,
} from './support/harness.js';

let h: GatewayHarness;
/** The same gateway with no chat engine configured, whose storage remembers what it uploaded. */
let unconfigured: string;
const uploadedKeys: string[] = [];
/** Messages seen on the enrichment lane, by an independent consumer. */
const enrichMessages: EnrichMessage[] = [];
let lane: Broker;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { enrichmentsAvailable: true } });
  const recording = recordingUploads(h.deps.storage, uploadedKeys);
  unconfigured = await h.listen({
    ...h.deps,
    storage: recording,
    registry: createRegistry('gateway'),
    settings: { ...h.deps.settings, enrichmentsAvailable: false },
  });
  lane = connectBroker({ url: h.env.env.AMQP_URL!, prefix: h.env.prefix });
  await lane.consume(
    lane.names.enrichQueue,
    async (body, ctx) => {
      enrichMessages.push(EnrichMessage.parse(JSON.parse(body.toString())));
      ctx.ack();
    },
    { prefetch: 10 },
  );
}, 60_000);

afterAll(async () => {
  await lane?.close();
  await h?.close();
});

/** Drives a job to completed with the worker's guarded updates (no enrichment edges). */
async function completeTranscript(id: string) {
  const claimed = await claimJob(h.env.db, id, { leaseMs: 60_000, takeOver: false });
  await completeJob(h.env.db, {
    id,
    attempt: claimed!.attempts,
    text: 'ask not',
    segments: [{ start: 0, end: 1, text: 'ask not' }],
    durationS: 1,
    processingMs: 5,
    model: null,
  });
}

async function newJob(extra: Record<string, unknown> = {}, key = h.keyA) {
  const upload = await h.uploadJfk(key);
  const res = await h.createJob(upload.uploadId, key, extra);
  expect(res.status).toBe(202);
  return CreateJobResponse.parse(res.json);
}

async function count(table: 'jobs' | 'enrichments'): Promise<number> {
  const { n } = await h.env.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

async function uploadStatus(uploadId: string) {
  const row = await h.env.db
    .selectFrom('uploads')
    .select('status')
    .where('id', '=', uploadId)
    .executeTakeFirstOrThrow();
  return row.status;
}

async function eventTypes(jobId: string) {
  const res = await h.api(`/v1/jobs/${jobId}/events`);
  return JobEventList.parse(res.json).events.map((e) =>
    'enrichment' in e ? `${e.type} ${e.enrichment.key}` : e.type,
  );
}

function form(fields: Record<string, string>): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  body.append('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
  return body;
}

const TIMED: EnrichmentResult = {
  shape: 'timed',
  segments: [
    { start: 0, end: 2.4, text: 'And so, my fellow Americans,' },
    { start: 2.4, end: 6, text: 'ask not what your country can do for you.' },
    { start: 6, end: 11, text: 'Ask what you can do for your country.' },
  ],
  paragraphStarts: [0, 2],
};
const MARKDOWN: EnrichmentResult = {
  shape: 'markdown',
  markdown: '## Summary\n\n- Ask what you can do for your country.',
};

/** What a worker's finish edge leaves in the row, written directly. */
async function markCompleted(jobId: string, key: string, result: EnrichmentResult, text: string) {
  await h.env.db
    .updateTable('enrichments')
    .set({
      status: 'completed',
      progress: 100,
      pieces_total: 1,
      pieces_done: 1,
      attempts: 1,
      model: 'llama3.1:8b',
      prompt_version: '1',
      prompt_tokens: 120,
      completion_tokens: 40,
      text,
      result: JSON.stringify(result),
      started_at: new Date(Date.now() - 1500),
      finished_at: new Date(),
    })
    .where('job_id', '=', jobId)
    .where('key', '=', key)
    .execute();
}

describe('creation with enrich', () => {
  it('creates the enrichments with the job, each with its enrichment.queued event, and shows them', async () => {
    const job = await newJob({ enrich: ['clean', 'summary', { translate: 'de' }] });
    expect(job.enrichments.map((e) => [e.key, e.kind, e.targetLanguage, e.status])).toEqual([
      ['clean', 'clean', null, 'queued'],
      ['summary', 'summary', null, 'queued'],
      ['translate:de', 'translate', 'de', 'queued'],
    ]);
    expect(job.enrichments[2]!.links.self).toBe(
      `${h.base}/v1/jobs/${job.id}/enrichments/translate:de`,
    );
    expect(job.enrichments[0]!.formats).toEqual(expect.arrayContaining(['srt', 'vtt']));
    expect(job.enrichments[1]!.formats).not.toContain('srt');
    expect(await eventTypes(job.id)).toEqual([
      'queued',
      'enrichment.queued clean',
      'enrichment.queued summary',
      'enrichment.queued translate:de',
    ]);
    const shown = Job.parse((await h.api(`/v1/jobs/${job.id}`)).json);
    expect(shown.enrichments.map((e) => e.key)).toEqual(['clean', 'summary', 'translate:de']);
    const list = JobList.parse((await h.api('/v1/jobs?limit=5')).json);
    expect(list.data.find((j) => j.id === job.id)?.enrichments.map((e) => e.key)).toEqual([
      'clean',
      'summary',
      'translate:de',
    ]);
  });

  it('a job without enrich has an empty list', async () => {
    const job = await newJob();
    expect(job.enrichments).toEqual([]);
    expect(Job.parse((await h.api(`/v1/jobs/${job.id}`)).json).enrichments).toEqual([]);
  });

  it('refuses an unknown kind with 400 validation_failed listing the kinds, and spends nothing', async () => {
    const jobs = await count('jobs');
    const upload = await h.uploadJfk();
    const error = expectError(
      await h.createJob(upload.uploadId, h.keyA, { enrich: ['summary', 'poem'] }),
      400,
      'validation_failed',
    );
    for (const kind of ['clean', 'summary', 'notes', 'translate']) {
      expect(error.message).toContain(kind);
    }
    expectError(
      await h.createJob(upload.uploadId, h.keyA, { enrich: ['summary', 'summary'] }),
      400,
      'validation_failed',
    );
    expect(await count('jobs')).toBe(jobs);
    expect(await uploadStatus(upload.uploadId)).toBe('pending');
  });

  it('replays an Idempotency-Key with the same enrich, and refuses it with another', async () => {
    const upload = await h.uploadJfk();
    const send = (enrich: unknown) =>
      h.api('/v1/jobs', {
        method: 'POST',
        headers: { 'idempotency-key': `enrich-${upload.uploadId}` },
        body: { uploadId: upload.uploadId, enrich },
      });
    const first = await send(['notes']);
    expect(first.status).toBe(202);
    const again = await send(['notes']);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const replayed = CreateJobResponse.parse(again.json);
    expect(replayed.id).toBe(CreateJobResponse.parse(first.json).id);
    expect(replayed.enrichments.map((e) => e.key)).toEqual(['notes']);
    expectError(await send(['summary']), 409, 'idempotency_conflict');
  });

  it('takes enrich on the form upload as keys or as a JSON array', async () => {
    const asKeys = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form({ enrich: 'clean, translate:pt-BR' }),
    });
    expect(asKeys.status).toBe(202);
    expect(CreateJobResponse.parse(asKeys.json).enrichments.map((e) => e.key)).toEqual([
      'clean',
      'translate:pt-BR',
    ]);
    const asJson = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form({ enrich: '["summary",{"translate":"fr"}]' }),
    });
    expect(asJson.status).toBe(202);
    expect(CreateJobResponse.parse(asJson.json).enrichments.map((e) => e.key)).toEqual([
      'summary',
      'translate:fr',
    ]);
    const unknown = expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', rawBody: form({ enrich: 'clean,poem' }) }),
      400,
      'validation_failed',
    );
    expect(unknown.message).toContain('"notes"');
    expectError(
      await h.api('/v1/jobs/upload', { method: 'POST', rawBody: form({ enrich: '[oops' }) }),
      400,
      'validation_failed',
    );
  });
});

describe('without a chat engine (no ENRICH_BASE_URL)', () => {
  it('refuses POST /v1/jobs with enrich with 503 enrichment_unavailable; no job, upload unspent', async () => {
    const jobs = await count('jobs');
    const upload = await h.uploadJfk();
    const error = expectError(
      await h.api(
        '/v1/jobs',
        { method: 'POST', body: { uploadId: upload.uploadId, enrich: ['summary'] } },
        unconfigured,
      ),
      503,
      'enrichment_unavailable',
    );
    expect(error.message).toContain('ENRICH_BASE_URL');
    expect(await count('jobs')).toBe(jobs);
    expect(await uploadStatus(upload.uploadId)).toBe('pending');
    // The same request without enrich, and with an empty list, is fine.
    const res = await h.api(
      '/v1/jobs',
      { method: 'POST', body: { uploadId: upload.uploadId, enrich: [] } },
      unconfigured,
    );
    expect(res.status).toBe(202);
  });

  it('refuses the form upload with 503 and leaves no job, upload row or object', async () => {
    const jobs = await count('jobs');
    const before = uploadedKeys.length;
    const res = await h.api(
      '/v1/jobs/upload',
      { method: 'POST', rawBody: form({ enrich: 'summary' }) },
      unconfigured,
    );
    expectError(res, 503, 'enrichment_unavailable');
    expect(await count('jobs')).toBe(jobs);
    const keys = uploadedKeys.slice(before);
    expect(keys).toHaveLength(1);
    expect(await h.storage.head(keys[0]!)).toBeUndefined();
    const rows = await h.env.db
      .selectFrom('uploads')
      .select('id')
      .where('object_key', '=', keys[0]!)
      .execute();
    expect(rows).toEqual([]);
  });

  it('refuses POST /v1/jobs/:id/enrichments with 503 and writes nothing', async () => {
    const job = await newJob();
    const enrichments = await count('enrichments');
    expectError(
      await h.api(
        `/v1/jobs/${job.id}/enrichments`,
        { method: 'POST', body: { kind: 'summary' } },
        unconfigured,
      ),
      503,
      'enrichment_unavailable',
    );
    expect(await count('enrichments')).toBe(enrichments);
    expect(await eventTypes(job.id)).toEqual(['queued']);
  });
});

describe('POST /v1/jobs/:id/enrichments', () => {
  it('creates (201) and then returns the same task (200) for the same key', async () => {
    const job = await newJob();
    const first = await h.api(`/v1/jobs/${job.id}/enrichments`, {
      method: 'POST',
      body: { kind: { translate: 'de' } },
    });
    expect(first.status).toBe(201);
    const created = Enrichment.parse(first.json);
    expect(created).toMatchObject({ key: 'translate:de', status: 'queued', progress: 0 });
    expect(first.headers.get('location')).toBe(created.links.self);
    const second = await h.api(`/v1/jobs/${job.id}/enrichments`, {
      method: 'POST',
      body: { kind: { translate: 'de' } },
    });
    expect(second.status).toBe(200);
    expect(Enrichment.parse(second.json).id).toBe(created.id);
    expect(await eventTypes(job.id)).toEqual(['queued', 'enrichment.queued translate:de']);
    const list = EnrichmentList.parse((await h.api(`/v1/jobs/${job.id}/enrichments`)).json);
    expect(list.data.map((e) => e.id)).toEqual([created.id]);
  });

  it('queues one asked of a completed job on the enrichment lane at once', async () => {
    const job = await newJob();
    await completeTranscript(job.id);
    const res = await h.api(`/v1/jobs/${job.id}/enrichments`, {
      method: 'POST',
      body: { kind: 'summary' },
    });
    expect(res.status).toBe(201);
    const created = Enrichment.parse(res.json);
    // The harness's relay polls once a day: the message arriving proves the route kicked it.
    for (let i = 0; i < 200 && !enrichMessages.some((m) => m.enrichmentId === created.id); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(enrichMessages.find((m) => m.enrichmentId === created.id)).toMatchObject({
      jobId: job.id,
      tenantId: h.tenantA,
    });
  });

  it('is 404 for an unknown job and for another tenant’s, 400 for an unknown kind', async () => {
    const job = await newJob();
    const post = (id: string, body: unknown, key = h.keyA) =>
      h.api(`/v1/jobs/${id}/enrichments`, { method: 'POST', body, key });
    expectError(await post(job.id, { kind: 'summary' }, h.keyB), 404, 'not_found');
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments`, { key: h.keyB }), 404, 'not_found');
    expectError(
      await post('00000000-0000-7000-8000-000000000000', { kind: 'summary' }),
      404,
      'not_found',
    );
    expectError(await post('not-a-uuid', { kind: 'summary' }), 404, 'not_found');
    const error = expectError(await post(job.id, { kind: 'haiku' }), 400, 'validation_failed');
    expect(error.message).toContain('translate');
    expectError(await post(job.id, { kind: { translate: 'auto' } }), 400, 'validation_failed');
    expect(Job.parse((await h.api(`/v1/jobs/${job.id}`)).json).enrichments).toEqual([]);
  });

  it('is 409 invalid_job_state for a canceled job, whose queued enrichments were canceled with it', async () => {
    const job = await newJob({ enrich: ['summary'] });
    expect((await h.api(`/v1/jobs/${job.id}/cancel`, { method: 'POST' })).status).toBe(200);
    const error = expectError(
      await h.api(`/v1/jobs/${job.id}/enrichments`, { method: 'POST', body: { kind: 'notes' } }),
      409,
      'invalid_job_state',
    );
    expect(error.details).toEqual({ status: 'canceled' });
    const shown = Job.parse((await h.api(`/v1/jobs/${job.id}`)).json);
    expect(shown.enrichments.map((e) => [e.key, e.status])).toEqual([['summary', 'canceled']]);
    expect(await eventTypes(job.id)).toEqual([
      'queued',
      'enrichment.queued summary',
      'canceled',
      'enrichment.canceled summary',
    ]);
  });
});

describe('GET /v1/jobs/:id/enrichments/:key', () => {
  it('is 409 enrichment_not_completed with status and progress before it completes', async () => {
    const job = await newJob({ enrich: ['summary'] });
    const error = expectError(
      await h.api(`/v1/jobs/${job.id}/enrichments/summary`),
      409,
      'enrichment_not_completed',
    );
    expect(error.details).toMatchObject({ status: 'queued', progress: 0 });
  });

  it('serves a timed kind as txt (default), md, json, srt and vtt', async () => {
    const job = await newJob({ enrich: ['clean', { translate: 'de' }] });
    const text =
      'And so, my fellow Americans, ask not what your country can do for you.\n\nAsk what you can do for your country.';
    await markCompleted(job.id, 'clean', TIMED, text);
    const base = `/v1/jobs/${job.id}/enrichments/clean`;

    const txt = await h.api(base);
    expect(txt.status).toBe(200);
    expect(txt.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(txt.text).toBe(`${text}\n`);

    const md = await h.api(`${base}?format=md`);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(md.text).toBe(`${text}\n`);

    const json = EnrichmentJson.parse((await h.api(`${base}?format=json`)).json);
    expect(json).toMatchObject({
      jobId: job.id,
      key: 'clean',
      status: 'completed',
      text,
      result: TIMED,
      model: 'llama3.1:8b',
      usage: { promptTokens: 120, completionTokens: 40 },
    });
    expect(json.processingMs).toBeGreaterThan(0);

    const srt = await h.api(`${base}?format=srt`);
    expect(srt.headers.get('content-type')).toMatch(/^application\/x-subrip/);
    const cues = parseSync(srt.text).filter((n) => n.type === 'cue');
    expect(cues).toHaveLength(3);
    expect(cues[1]).toMatchObject({ data: { start: 2400, end: 6000 } });

    const vtt = await h.api(`${base}?format=vtt`);
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(vtt.text.startsWith('WEBVTT')).toBe(true);
    expect(vtt.text).toContain('00:00:06.000 --> 00:00:11.000');

    // The other one is still queued.
    expectError(
      await h.api(`/v1/jobs/${job.id}/enrichments/translate:de?format=srt`),
      409,
      'enrichment_not_completed',
    );
  });

  it('accepts a percent-encoded key', async () => {
    const job = await newJob({ enrich: [{ translate: 'de' }] });
    await markCompleted(job.id, 'translate:de', TIMED, 'Und so...');
    const res = await h.api(`/v1/jobs/${job.id}/enrichments/translate%3Ade?format=json`);
    expect(res.status).toBe(200);
    expect(EnrichmentJson.parse(res.json)).toMatchObject({
      key: 'translate:de',
      targetLanguage: 'de',
    });
  });

  it('serves a markdown kind as md (default), txt and json; srt and vtt are 400', async () => {
    const job = await newJob({ enrich: ['summary'] });
    await markCompleted(
      job.id,
      'summary',
      MARKDOWN,
      'Summary\n\nAsk what you can do for your country.',
    );
    const base = `/v1/jobs/${job.id}/enrichments/summary`;
    const md = await h.api(base);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(md.text).toBe(`${MARKDOWN.markdown}\n`);
    const txt = await h.api(`${base}?format=txt`);
    expect(txt.text).toBe('Summary\n\nAsk what you can do for your country.\n');
    expect(EnrichmentJson.parse((await h.api(`${base}?format=json`)).json).result).toEqual(
      MARKDOWN,
    );
    for (const format of ['srt', 'vtt']) {
      const error = expectError(await h.api(`${base}?format=${format}`), 400, 'validation_failed');
      expect(error.details).toEqual({ formats: ['md', 'txt', 'json'] });
    }
    expectError(await h.api(`${base}?format=docx`), 400, 'validation_failed');
  });

  it('is 404 for a key the job has not and another tenant’s job, 400 for a malformed key', async () => {
    const job = await newJob({ enrich: ['summary'] });
    await markCompleted(job.id, 'summary', MARKDOWN, 'x');
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments/notes`), 404, 'not_found');
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments/translate:de`), 404, 'not_found');
    expectError(
      await h.api(`/v1/jobs/${job.id}/enrichments/summary`, { key: h.keyB }),
      404,
      'not_found',
    );
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments/poem`), 400, 'validation_failed');
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments/translate:`), 400, 'validation_failed');
  });
});

describe('POST /v1/jobs/:id/enrichments/:key/cancel', () => {
  it('cancels a queued enrichment (again: 200), with its event; the job goes on', async () => {
    const job = await newJob({ enrich: ['summary', 'notes'] });
    const res = await h.api(`/v1/jobs/${job.id}/enrichments/notes/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(Enrichment.parse(res.json)).toMatchObject({ key: 'notes', status: 'canceled' });
    const again = await h.api(`/v1/jobs/${job.id}/enrichments/notes/cancel`, { method: 'POST' });
    expect(again.status).toBe(200);
    const shown = Job.parse((await h.api(`/v1/jobs/${job.id}`)).json);
    expect(shown.status).toBe('queued');
    expect(shown.enrichments.map((e) => [e.key, e.status])).toEqual([
      ['summary', 'queued'],
      ['notes', 'canceled'],
    ]);
    expect((await eventTypes(job.id)).at(-1)).toBe('enrichment.canceled notes');
  });

  it('is 409 for a completed one, 404 for an unknown key or another tenant, 400 malformed', async () => {
    const job = await newJob({ enrich: ['summary'] });
    await markCompleted(job.id, 'summary', MARKDOWN, 'x');
    const cancel = (key: string, apiKey = h.keyA) =>
      h.api(`/v1/jobs/${job.id}/enrichments/${key}/cancel`, { method: 'POST', key: apiKey });
    const error = expectError(await cancel('summary'), 409, 'invalid_job_state');
    expect(error.details).toEqual({ status: 'completed' });
    expectError(await cancel('notes'), 404, 'not_found');
    expectError(await cancel('summary', h.keyB), 404, 'not_found');
    expectError(await cancel('Summary'), 400, 'validation_failed');
  });
});

describe('DELETE /v1/jobs/:id', () => {
  it('removes the job’s enrichments with it', async () => {
    const job = await newJob({ enrich: ['summary', 'clean'] });
    await markCompleted(job.id, 'summary', MARKDOWN, 'x');
    expect((await h.api(`/v1/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(204);
    const rows = await h.env.db
      .selectFrom('enrichments')
      .select('id')
      .where('job_id', '=', job.id)
      .execute();
    expect(rows).toEqual([]);
    expectError(await h.api(`/v1/jobs/${job.id}/enrichments`), 404, 'not_found');
  });
});
