// Admission without a replay read (issue 18): a subscriber that resumes from the job's head
// costs one head read, no job_events read, and still gets every later event exactly once —
// including one committed after its head read but dispatched before it was registered.
// Real Postgres, RabbitMQ, outbox relay and ws clients; a kysely plugin only counts reads.
import type { JobEvent } from '@transcribe/contracts';
import {
  TableNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import { Harness, waitFor, type Job, type RunningNotifier } from './support/harness.js';

let env: TestEnv;
let h: Harness;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
});
afterAll(async () => {
  await h?.stop();
  await env?.close();
});

/** Which table a SELECT reads first (enough for the notifier's one-table queries). */
function selectedTable(node: RootOperationNode): string | undefined {
  if (node.kind !== 'SelectQueryNode') return undefined;
  const from = node.from?.froms[0];
  return from && TableNode.is(from) ? from.table.identifier.name : undefined;
}

/**
 * Counts the notifier's reads per table; `afterHeadRead` runs once, when the first read of
 * `jobs` has its answer and before the notifier sees it.
 */
class ReadCounter implements KyselyPlugin {
  readonly reads = new Map<string, number>();
  private readonly pending = new WeakMap<object, string>();
  afterHeadRead: (() => Promise<void>) | undefined;

  transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
    const table = selectedTable(node);
    if (table) {
      this.reads.set(table, (this.reads.get(table) ?? 0) + 1);
      this.pending.set(queryId, table);
    }
    return node;
  }

  async transformResult({
    result,
    queryId,
  }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.pending.get(queryId) === 'jobs' && this.afterHeadRead) {
      const hook = this.afterHeadRead;
      this.afterHeadRead = undefined;
      await hook();
    }
    return result;
  }

  count(table: string): number {
    return this.reads.get(table) ?? 0;
  }
}

async function notifierCounting(): Promise<{ running: RunningNotifier; counter: ReadCounter }> {
  const counter = new ReadCounter();
  const running = await h.startNotifier({}, { db: env.db.withPlugin(counter) });
  return { running, counter };
}

/** A job with `count` stored progress events. */
async function jobWithEvents(count: number): Promise<Job> {
  const job = await h.createJob(await h.createTenant());
  for (let i = 0; i < count; i++) await h.progress(job, i / 10);
  return job;
}

const seqs = (events: JobEvent[]) => events.map((e) => e.seq);

describe('admission of a subscriber that resumes', () => {
  it('from the head: no job_events read, and every later event once, in order', async () => {
    const { running, counter } = await notifierCounting();
    const job = await jobWithEvents(3);
    const follower = h.follow(running.eventsUrl(job.id, { after: 3, token: h.tokenFor(job) }), {
      until: (e) => e.seq === 5,
    });
    await follower.opened;
    await waitFor(() => running.notifier.hub.size === 1, { what: 'admitted' });
    expect(counter.count('jobs')).toBe(1);
    expect(counter.count('job_events')).toBe(0);

    await h.progress(job, 0.5);
    await h.progress(job, 0.6);
    const result = await follower.finished;
    expect(result.seqs).toEqual([4, 5]);
    // Live events that follow the client's position need no read either.
    expect(counter.count('job_events')).toBe(0);
  });

  it('from behind the head: the missed events are replayed, then live ones follow', async () => {
    const { running, counter } = await notifierCounting();
    const job = await jobWithEvents(3);
    const follower = h.follow(running.eventsUrl(job.id, { after: 1, token: h.tokenFor(job) }), {
      until: (e) => e.seq === 4,
    });
    await waitFor(() => follower.events.length === 2, { what: 'the replay' });
    expect(counter.count('job_events')).toBeGreaterThan(0);
    await h.progress(job, 0.5);
    expect((await follower.finished).seqs).toEqual([2, 3, 4]);
  });

  it('from a head that an event passed while it was admitted: that event is not missed', async () => {
    const { running, counter } = await notifierCounting();
    const job = await jobWithEvents(3);
    const dispatched: JobEvent[] = [];
    const hub = running.notifier.hub;
    const dispatch = hub.dispatch.bind(hub);
    hub.dispatch = (event) => {
      dispatch(event);
      dispatched.push(event);
    };
    // The head read answers 3; before the notifier sees that answer, seq 4 is committed,
    // relayed and dispatched live — to nobody, the subscriber is not registered yet.
    counter.afterHeadRead = async () => {
      await h.progress(job, 0.5);
      await waitFor(() => dispatched.some((e) => e.jobId === job.id && e.seq === 4), {
        what: 'seq 4 dispatched',
      });
    };
    const follower = h.follow(running.eventsUrl(job.id, { after: 3, token: h.tokenFor(job) }), {
      until: (e) => e.seq === 5,
    });
    await waitFor(() => follower.events.length === 1, { what: 'seq 4 replayed' });
    expect(seqs(follower.events)).toEqual([4]);
    expect(counter.count('job_events')).toBeGreaterThan(0);
    await h.progress(job, 0.6);
    expect((await follower.finished).seqs).toEqual([4, 5]);
  });

  it('many at once: no job_events read, and all get the next event once', async () => {
    const { running, counter } = await notifierCounting();
    const job = await jobWithEvents(2);
    const token = h.tokenFor(job);
    const followers = Array.from({ length: 20 }, () =>
      h.follow(running.eventsUrl(job.id, { after: 2, token }), { until: (e) => e.seq === 3 }),
    );
    await Promise.all(followers.map((f) => f.opened));
    await waitFor(() => running.notifier.hub.size === 20, { what: 'all admitted' });
    expect(counter.count('job_events')).toBe(0);
    await h.progress(job, 0.5);
    for (const f of followers) expect((await f.finished).seqs).toEqual([3]);
  });
});
