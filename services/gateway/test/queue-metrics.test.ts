// The lanes' depth and oldest age on /metrics, read from real Postgres at scrape time: they
// follow jobs as they are queued, claimed and fanned out, and enrichments as their
// transcript is done; a retry in its backoff counts in the depth but not in the age.
import { sql } from 'kysely';
import { CreateJobResponse } from '@transcribe/contracts';
import { claimJob, insertEnrichments } from '@transcribe/db';
import { waitFor } from '../../../packages/testkit/src/index.js';
import { startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** A gauge's value on a /metrics page (labels in any order), undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}) {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

type Lane = 'jobs' | 'enrich';
const lanes = async () => {
  const text = (await h.api('/metrics', { key: null })).text;
  const of = (lane: Lane) => ({
    depth: sample(text, 'transcribe_queue_depth', { lane }),
    age: sample(text, 'transcribe_queue_oldest_age_seconds', { lane }),
  });
  return { jobs: of('jobs'), enrich: of('enrich'), up: sample(text, 'transcribe_metrics_db_up') };
};

/** Scrapes until the lane shows `depth` and an age that `age` accepts. */
async function expectLane(lane: Lane, depth: number, age: (s: number) => boolean) {
  return waitFor(
    async () => {
      const now = await lanes();
      return now[lane].depth === depth && age(now[lane].age!) && now.up === 1 && now;
    },
    { what: `lane ${lane} at depth ${depth}`, timeoutMs: 15_000 },
  );
}

async function newJob() {
  const upload = await h.uploadJfk();
  const res = await h.createJob(upload.uploadId);
  expect(res.status).toBe(202);
  return CreateJobResponse.parse(res.json).id;
}

const backdate = (id: string, seconds: number) =>
  sql`UPDATE jobs SET queued_at = now() - make_interval(secs => ${seconds}) WHERE id = ${id}`.execute(
    h.env.db,
  );

it('follows queued jobs, claims and fanned-out chunks on the jobs lane', async () => {
  await expectLane('jobs', 0, (s) => s === 0);
  const older = await newJob();
  const newer = await newJob();
  await backdate(older, 120);
  await backdate(newer, 30);
  await expectLane('jobs', 2, (s) => s >= 120 && s < 180);

  // Claimed: no longer waiting; the newer one is the oldest now.
  const claimed = (await claimJob(h.env.db, older, { leaseMs: 60_000 }))!;
  await expectLane('jobs', 1, (s) => s >= 30 && s < 90);

  // Its chunks fanned out under this attempt: one held by a worker under a live lease (being
  // transcribed), one done, one waiting for a worker; one of an older attempt is not work.
  await h.env.db
    .insertInto('job_chunks')
    .values(
      [
        { holder: 'w1', lease_expires_at: new Date(Date.now() + 60_000) },
        { finished_at: new Date(), text: '' },
        {},
        { dispatched_attempt: claimed.attempts - 1 },
      ].map((c, index) => ({
        job_id: older,
        index,
        start_s: index * 10,
        end_s: index * 10 + 10,
        dispatched_attempt: claimed.attempts,
        ...c,
      })),
    )
    .execute();
  await expectLane('jobs', 2, (s) => s >= 30 && s < 90);
  await sql`UPDATE jobs SET status = 'canceled' WHERE id IN (${older}, ${newer})`.execute(h.env.db);
  await expectLane('jobs', 0, (s) => s === 0);
});

it('counts a retry in its backoff in the depth, not in the age', async () => {
  const waiting = await newJob();
  await backdate(waiting, 300);
  await sql`UPDATE jobs SET not_before = now() + interval '1 hour' WHERE id = ${waiting}`.execute(
    h.env.db,
  );
  await expectLane('jobs', 1, (s) => s === 0);
  // Its backoff over 10 s ago: takeable since then, not since it was queued.
  await sql`UPDATE jobs SET not_before = now() - interval '10 seconds' WHERE id = ${waiting}`.execute(
    h.env.db,
  );
  await expectLane('jobs', 1, (s) => s >= 10 && s < 60);
  await sql`UPDATE jobs SET status = 'canceled' WHERE id = ${waiting}`.execute(h.env.db);
});

it('counts queued enrichments on the enrich lane once their transcript is done', async () => {
  await expectLane('enrich', 0, (s) => s === 0);
  const id = await newJob();
  await insertEnrichments(h.env.db, { id, tenantId: h.tenantA }, [
    { key: 'summary', kind: 'summary' },
    { key: 'clean', kind: 'clean' },
  ]);
  // Asked for with the job (a minute ago here): they wait for the transcript, not for a worker.
  await sql`UPDATE enrichments SET updated_at = now() - interval '60 seconds' WHERE job_id = ${id}`.execute(
    h.env.db,
  );
  await expectLane('enrich', 0, (s) => s === 0);
  await sql`UPDATE jobs SET status = 'completed', finished_at = now() - interval '45 seconds'
             WHERE id = ${id}`.execute(h.env.db);
  // On the lane since the transcript was done (45 s ago), not since they were asked for.
  await expectLane('enrich', 2, (s) => s >= 45 && s < 60);
  await sql`UPDATE enrichments SET status = 'processing' WHERE job_id = ${id} AND key = 'summary'`.execute(
    h.env.db,
  );
  await expectLane('enrich', 1, (s) => s >= 45 && s < 60);
});

it("shows the broker's own count of ready messages per lane queue", async () => {
  const count = async () => {
    const text = (await h.api('/metrics', { key: null })).text;
    return {
      enrich: sample(text, 'transcribe_queue_broker_messages', { lane: 'enrich' }),
      jobs: sample(text, 'transcribe_queue_broker_messages', { lane: 'jobs' }),
      up: sample(text, 'transcribe_metrics_broker_up'),
    };
  };
  const before = await waitFor(async () => {
    const c = await count();
    return c.up === 1 && c.jobs !== undefined && c;
  });
  // Nobody consumes the enrichment lane here: a message published to it stays ready.
  await h.broker.publish('', h.broker.names.enrichQueue, { probe: true });
  await waitFor(async () => (await count()).enrich === (before.enrich ?? 0) + 1, {
    what: 'the enrich lane at one more message',
  });
});
