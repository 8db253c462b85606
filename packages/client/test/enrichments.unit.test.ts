// Waiting for a job and its enrichments (issue 15): the settlement tracker on event
// sequences, and waitForSettled against the local stand-in for the API.
import {
  createClient,
  createSettlementTracker,
  type JobEvent,
  type TranscribeClient,
} from '@transcribe/client';
import type { JobEventInput } from '@transcribe/contracts';
import { API_KEY, makeEvent, startFakeApi, type FakeApi } from './support/fake-api.js';

let fake: FakeApi;
let client: TranscribeClient;

beforeAll(async () => {
  fake = await startFakeApi();
  client = createClient({ baseUrl: fake.baseUrl, apiKey: API_KEY });
});
afterAll(() => fake.close());
afterEach(() => fake.enrichmentOutcomes.clear());

const JOB = '0190a000-0000-7000-8000-0000000000aa';
const ref = (key: 'summary' | 'clean') => ({
  enrichment: {
    id: `0190a000-0000-7000-8000-00000000000${key === 'summary' ? 1 : 2}`,
    key,
    kind: key,
  },
});

/** Feeds inputs one by one; the index of the event that settled, and the settlement. */
function feed(inputs: JobEventInput[]) {
  const tracker = createSettlementTracker();
  for (const [i, input] of inputs.entries()) {
    const settled = tracker.observe(makeEvent(JOB, i + 1, input));
    if (settled) return { at: i, settled };
  }
  return undefined;
}

describe('createSettlementTracker', () => {
  it('settles at the job’s terminal event when no enrichment was asked for', () => {
    expect(
      feed([{ type: 'queued' }, { type: 'completed', durationS: 1, processingMs: 1 }])?.at,
    ).toBe(1);
  });

  it('does not settle at completed while an enrichment is queued or running', () => {
    const result = feed([
      { type: 'queued' },
      { type: 'enrichment.queued', ...ref('summary') },
      { type: 'enrichment.queued', ...ref('clean') },
      { type: 'completed', durationS: 1, processingMs: 1 },
      { type: 'enrichment.processing', ...ref('summary'), attempt: 1 },
      { type: 'enrichment.completed', ...ref('summary'), model: 'm', usage: null, processingMs: 5 },
      { type: 'enrichment.processing', ...ref('clean'), attempt: 1 },
      {
        type: 'enrichment.failed',
        ...ref('clean'),
        error: { code: 'engine_failed', message: 'boom' },
      },
    ]);
    expect(result?.at).toBe(7);
    expect(result?.settled.job.type).toBe('completed');
    expect([...result!.settled.enrichments].map(([k, e]) => [k, e.type])).toEqual([
      ['summary', 'enrichment.completed'],
      ['clean', 'enrichment.failed'],
    ]);
  });

  it('settles a failed job once its enrichments were canceled with it', () => {
    const result = feed([
      { type: 'queued' },
      { type: 'enrichment.queued', ...ref('summary') },
      { type: 'failed', error: { code: 'engine_failed', message: 'x' } },
      { type: 'enrichment.canceled', ...ref('summary') },
    ]);
    expect(result?.at).toBe(3);
    expect(result?.settled.job.type).toBe('failed');
  });

  it('waits for the keys it was told of, asked after the job completed', () => {
    const tracker = createSettlementTracker(['summary']);
    const inputs: JobEventInput[] = [
      { type: 'queued' },
      { type: 'completed', durationS: 1, processingMs: 1 },
      { type: 'enrichment.queued', ...ref('summary') },
    ];
    inputs.forEach((e, i) => expect(tracker.observe(makeEvent(JOB, i + 1, e))).toBeUndefined());
    const done = tracker.observe(
      makeEvent(JOB, 4, {
        type: 'enrichment.completed',
        ...ref('summary'),
        model: null,
        usage: null,
        processingMs: 1,
      }),
    );
    expect(done?.job.type).toBe('completed');
  });

  it('waits again after a retry queues the job and its enrichments anew', () => {
    const tracker = createSettlementTracker();
    const inputs: JobEventInput[] = [
      { type: 'queued' },
      { type: 'enrichment.queued', ...ref('summary') },
      { type: 'canceled' },
    ];
    inputs.forEach((e, i) => expect(tracker.observe(makeEvent(JOB, i + 1, e))).toBeUndefined());
    expect(
      tracker.observe(makeEvent(JOB, 4, { type: 'enrichment.canceled', ...ref('summary') })),
    ).toBeDefined();
    expect(tracker.observe(makeEvent(JOB, 5, { type: 'queued' }))).toBeUndefined();
    expect(
      tracker.observe(makeEvent(JOB, 6, { type: 'enrichment.queued', ...ref('summary') })),
    ).toBeUndefined();
  });
});

describe('waitForSettled', () => {
  it('follows past the job’s completed until every enrichment has ended', async () => {
    fake.enrichmentOutcomes.set('clean', 'failed');
    const { job } = fake.addJob(undefined, undefined, ['summary', 'clean']);
    const seen: JobEvent['type'][] = [];
    const settlement = await client.waitForSettled(job.id, { onEvent: (e) => seen.push(e.type) });
    expect(settlement.job.type).toBe('completed');
    expect(seen.indexOf('completed')).toBeLessThan(seen.length - 1);
    expect(seen.at(-1)).toBe('enrichment.failed');
    expect(settlement.enrichments.get('summary')?.type).toBe('enrichment.completed');
    expect(settlement.enrichments.get('clean')?.type).toBe('enrichment.failed');
  });

  it('ends at the job’s terminal event when it has no enrichments', async () => {
    const { job } = fake.addJob();
    const settlement = await client.waitForSettled(job.id);
    expect(settlement.job.type).toBe('completed');
    expect(settlement.enrichments.size).toBe(0);
  });

  it('resolves for a failed job once its enrichments are canceled', async () => {
    const { job } = fake.addJob(
      [{ type: 'failed', error: { code: 'engine_failed', message: 'no' } }],
      undefined,
      ['notes'],
    );
    const settlement = await client.waitForSettled(job.id);
    expect(settlement.job.type).toBe('failed');
    expect(settlement.enrichments.get('notes')?.type).toBe('enrichment.canceled');
  });

  it('reads enrichments through the REST methods', async () => {
    const { job } = fake.addJob(undefined, undefined, ['summary', 'translate:de']);
    expect((await client.listEnrichments(job.id)).map((e) => e.key)).toEqual([
      'summary',
      'translate:de',
    ]);
    expect(await client.getEnrichment(job.id, 'summary')).toBe('summary as md\n');
    expect(await client.getEnrichment(job.id, 'translate:de', 'srt')).toBe('translate:de as srt\n');
    expect((await client.getEnrichment(job.id, 'summary', 'json')).text).toBe('summary as json');
  });
});
