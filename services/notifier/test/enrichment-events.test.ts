// Enrichment events (issue 15) on the job's own stream, on real Postgres and RabbitMQ: they
// come after the job's `completed`, with the same seq numbering, so nothing in the streams
// may treat `completed` as the end. A one-job WebSocket stays open past it, a resume from
// `completed`'s seq gets them (replay then live), SSE's Last-Event-ID too, the tenant
// stream carries them with cursors, and enrichment progress has its own ETA.
import { randomUUID } from 'node:crypto';
import {
  EventFrame,
  TenantServerFrame,
  type EnrichmentKey,
  type EnrichmentKind,
  type JobEvent,
  type JobEventInput,
} from '@transcribe/contracts';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import {
  Harness,
  sleep,
  waitFor,
  type Job,
  type RunningNotifier,
  type Tenant,
} from './support/harness.js';
import { readSse } from './support/read-sse.js';

let env: TestEnv;
let h: Harness;
let notifier: RunningNotifier;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  notifier = await h.startNotifier({ publicApiUrl: 'https://api.example.test' });
});

afterAll(async () => {
  await h?.stop();
  await env?.close();
});

const ref = (key: EnrichmentKey, kind: EnrichmentKind) => ({ id: randomUUID(), key, kind });

/** The events a worker on the enrich lane writes for one enrichment, progress by `pieces`. */
function enrichmentRun(enrichment: ReturnType<typeof ref>, pieces: number): JobEventInput[] {
  return [
    { type: 'enrichment.processing', enrichment, attempt: 1 },
    ...Array.from({ length: pieces }, (_, i) => ({
      type: 'enrichment.progress' as const,
      enrichment,
      progress: ((i + 1) / pieces) * 100,
      piecesDone: i + 1,
      piecesTotal: pieces,
    })),
    {
      type: 'enrichment.completed',
      enrichment,
      model: 'llama3.1:8b',
      usage: { promptTokens: 900, completionTokens: 120 },
      processingMs: 4200,
    },
  ];
}

const isEnrichmentEnd = (key: string) => (e: JobEvent) =>
  e.type === 'enrichment.completed' && e.enrichment.key === key;

/**
 * A transcribed job whose summary was asked for at creation: seqs 1 queued, 2
 * enrichment.queued, 3 processing, 4 progress, 5 completed.
 */
async function completedJobWithSummary(): Promise<{
  tenant: Tenant;
  job: Job;
  summary: ReturnType<typeof ref>;
}> {
  const tenant = await h.createTenant();
  const job = await h.createJob(tenant);
  const summary = ref('summary', 'summary');
  await h.append(job, { type: 'queued' }, { type: 'enrichment.queued', enrichment: summary });
  await h.append(job, { type: 'processing', attempt: 1 });
  await h.progress(job, 50);
  await h.complete(job);
  return { tenant, job, summary };
}

describe('one-job stream', () => {
  it('stays open after the job completes and delivers its enrichment events live, in seq order', async () => {
    const { job, summary } = await completedJobWithSummary();
    const follower = h.follow(notifier.eventsUrl(job.id, { token: h.tokenFor(job) }), {
      until: isEnrichmentEnd('summary'),
    });
    await waitFor(() => follower.events.some((e) => e.type === 'completed'), {
      what: 'replay through completed',
    });
    await sleep(100); // a stream that ended at `completed` would be closed by now
    expect(follower.socket.readyState).toBe(follower.socket.OPEN);

    await h.append(job, ...enrichmentRun(summary, 3));
    const { events, seqs, closeCode } = await follower.finished;
    expect(closeCode).toBeUndefined();
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.map((e) => e.type)).toEqual([
      'queued',
      'enrichment.queued',
      'processing',
      'progress',
      'completed',
      'enrichment.processing',
      'enrichment.progress',
      'enrichment.progress',
      'enrichment.progress',
      'enrichment.completed',
    ]);
    expect(events.at(-1)).toMatchObject({ enrichment: summary, model: 'llama3.1:8b' });
  });

  it('resumed after `completed` (after=<its seq>), replays the stored enrichment events, then live ones', async () => {
    const { tenant, job, summary } = await completedJobWithSummary();
    const translation = ref('translate:de', 'translate');
    // Stored before the client comes back: the summary runs, a translation is asked for.
    await h.append(job, ...enrichmentRun(summary, 2));
    await h.append(job, { type: 'enrichment.queued', enrichment: translation });

    const follower = h.follow(notifier.eventsUrl(job.id, { after: 5 }), {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
      until: isEnrichmentEnd('translate:de'),
    });
    await waitFor(() => follower.events.length === 5, { what: 'replay after completed' });
    await h.append(job, ...enrichmentRun(translation, 1));
    const { events, seqs } = await follower.finished;
    expect(seqs).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
    expect(events.map((e) => e.type)).toEqual([
      'enrichment.processing',
      'enrichment.progress',
      'enrichment.progress',
      'enrichment.completed',
      'enrichment.queued',
      'enrichment.processing',
      'enrichment.progress',
      'enrichment.completed',
    ]);
  });

  it('gives enrichment progress its own ETA, which the job completing does not reset', async () => {
    const { job, summary } = await completedJobWithSummary();
    const [first] = await h.append(job, {
      type: 'enrichment.processing',
      enrichment: summary,
      attempt: 1,
    });
    await h.append(job, {
      type: 'enrichment.progress',
      enrichment: summary,
      progress: 25,
      piecesDone: 1,
      piecesTotal: 4,
    });
    await sleep(60);
    await h.append(job, {
      type: 'enrichment.progress',
      enrichment: summary,
      progress: 50,
      piecesDone: 2,
      piecesTotal: 4,
    });
    const frames: EventFrame[] = [];
    const socket = h.socket(
      notifier.eventsUrl(job.id, { after: first!.seq, token: h.tokenFor(job) }),
    );
    socket.on('message', (data) => frames.push(EventFrame.parse(JSON.parse(String(data)))));
    await waitFor(() => frames.length === 2, { what: 'two progress frames' });
    socket.close();
    expect(frames[0]!.etaS).toBeUndefined();
    // 25 points in ≥ 60 ms: the other 50 take about as long again, twice.
    expect(frames[1]!.etaS).toBeGreaterThan(0);
    expect(frames[1]!.event).toMatchObject({ type: 'enrichment.progress', piecesDone: 2 });
  });
});

describe('SSE and the tenant stream', () => {
  it('SSE resumes after `completed` with Last-Event-ID and gets the enrichment events', async () => {
    const { job, summary } = await completedJobWithSummary();
    const reading = readSse(notifier.sseUrl({ jobId: job.id, token: h.tokenFor(job) }), {
      headers: { 'last-event-id': '5' },
      until: (events) => events.some((e) => e.type === 'enrichment.completed'),
    });
    await waitFor(() => notifier.notifier.hub.size >= 1, { what: 'admission' });
    await h.append(job, ...enrichmentRun(summary, 1));
    const got = await reading;
    expect(got.status).toBe(200);
    expect(got.events.map((e) => [e.id, e.type])).toEqual([
      ['6', 'enrichment.processing'],
      ['7', 'enrichment.progress'],
      ['8', 'enrichment.completed'],
    ]);
  });

  it('the tenant stream carries enrichment events after the job completes, and a cursor resume gets the rest', async () => {
    const { tenant, job, summary } = await completedJobWithSummary();
    const got: TenantServerFrame[] = [];
    const first = h.socket(notifier.tenantUrl(), {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    });
    first.on('message', (data) => got.push(TenantServerFrame.parse(JSON.parse(String(data)))));
    await waitFor(() => got[0]?.kind === 'ready', { what: 'ready' });
    await h.append(job, { type: 'enrichment.processing', enrichment: summary, attempt: 1 });
    // A stream opened without `after` may start with events committed moments before (the
    // job's own, just seeded): look for the one appended, not at a frame count.
    const processing = await waitFor(
      () =>
        got.find(
          (f): f is Extract<TenantServerFrame, { kind: 'event' }> =>
            f.kind === 'event' && f.event.type === 'enrichment.processing',
        ),
      { what: 'enrichment.processing' },
    );
    first.terminate();
    const resumeAt = processing.cursor!;
    await h.append(job, ...enrichmentRun(summary, 2).slice(1));

    const rest: TenantServerFrame[] = [];
    const second = h.socket(notifier.tenantUrl({ after: resumeAt }), {
      headers: { authorization: `Bearer ${tenant.apiKey}` },
    });
    second.on('message', (data) => rest.push(TenantServerFrame.parse(JSON.parse(String(data)))));
    await waitFor(() => rest.length === 3, { what: 'the rest after the cursor' });
    await sleep(100);
    second.close();
    expect(rest.map((f) => (f.kind === 'event' ? [f.event.seq, f.event.type] : [f.kind]))).toEqual([
      [7, 'enrichment.progress'],
      [8, 'enrichment.progress'],
      [9, 'enrichment.completed'],
    ]);
  });
});
