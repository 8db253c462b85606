// The closing count of a fault run, read from what the system stored: the jobs table and
// the job event log. Every job the system accepted (found by its `faultRun` metadata,
// whether or not the client heard the 202) must have ended completed, or failed with a
// stated reason; none may be left queued or processing; none may carry two terminal
// events or a hole in its seq.
import type { Db } from '@transcribe/db';

export interface JobAudit {
  /** Ids of the jobs found. */
  ids: string[];
  accepted: number;
  completed: number;
  /** Failed with an error code and message. */
  failed: number;
  /** Failed without a stated reason (a defect). */
  failedWithoutReason: number;
  canceled: number;
  /** Still queued or processing. */
  stuck: { id: string; status: string; attempts: number }[];
  /** Extra terminal events beyond the first, summed over jobs. */
  duplicateTerminalEvents: number;
  /** Jobs whose seqs are not exactly 1..n. */
  seqGaps: number;
  /** Jobs whose last terminal event disagrees with their status. */
  statusMismatches: number;
  /** Failure codes and how often each occurred, e.g. { engine_failed: 2 }. */
  failureCodes: Record<string, number>;
  /** One message per failure code, as stored. */
  failureExamples: Record<string, string>;
  /** Epoch ms of each completion (its `completed` event). */
  completions: number[];
}

/** Jobs of the run, still queued or processing. */
export async function countUnfinished(db: Db, run: string): Promise<number> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where((eb) => eb(eb.ref('metadata', '->>').key('faultRun'), '=', run))
    .where('status', 'in', ['queued', 'processing'])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** When the run's unfinished jobs last wrote an event (epoch ms), or undefined. */
async function lastUnfinishedActivity(db: Db, run: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('job_events')
    .innerJoin('jobs', 'jobs.id', 'job_events.job_id')
    .select((eb) => eb.fn.max('job_events.created_at').as('last'))
    .where((eb) => eb(eb.ref('jobs.metadata', '->>').key('faultRun'), '=', run))
    .where('jobs.status', 'in', ['queued', 'processing'])
    .executeTakeFirst();
  return row?.last ? new Date(row.last).getTime() : undefined;
}

/**
 * Waits until no job of the run is queued or processing. Past `timeoutMs` it waits on
 * only while an unfinished job still writes events (a slow machine, not a stuck job),
 * up to twice `timeoutMs`; false if jobs are left unfinished.
 */
export async function waitSettled(db: Db, run: string, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    try {
      if ((await countUnfinished(db, run)) === 0) return true;
      const elapsed = Date.now() - started;
      if (elapsed > 2 * timeoutMs) return false;
      if (elapsed > timeoutMs) {
        const last = await lastUnfinishedActivity(db, run);
        if (last === undefined || Date.now() - last > 20_000) return false;
      }
    } catch {
      // The harness's own connection is direct, not proxied; a failure here is transient.
      if (Date.now() - started > 2 * timeoutMs) return false;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function auditJobs(db: Db, run: string): Promise<JobAudit> {
  const jobs = await db
    .selectFrom('jobs')
    .select(['id', 'status', 'attempts', 'error_code', 'error_message'])
    .where((eb) => eb(eb.ref('metadata', '->>').key('faultRun'), '=', run))
    .execute();
  const ids = jobs.map((j) => j.id);
  const events = ids.length
    ? await db
        .selectFrom('job_events')
        .select(['job_id', 'seq', 'type', 'created_at'])
        .where('job_id', 'in', ids)
        .orderBy('job_id')
        .orderBy('seq')
        .execute()
    : [];
  const byJob = new Map<string, typeof events>();
  for (const e of events) {
    const list = byJob.get(e.job_id) ?? [];
    list.push(e);
    byJob.set(e.job_id, list);
  }

  const audit: JobAudit = {
    ids,
    accepted: jobs.length,
    completed: 0,
    failed: 0,
    failedWithoutReason: 0,
    canceled: 0,
    stuck: [],
    duplicateTerminalEvents: 0,
    seqGaps: 0,
    statusMismatches: 0,
    failureCodes: {},
    failureExamples: {},
    completions: [],
  };
  for (const job of jobs) {
    if (job.status === 'completed') audit.completed++;
    else if (job.status === 'canceled') audit.canceled++;
    else if (job.status === 'failed') {
      if (job.error_code && job.error_message) audit.failed++;
      else audit.failedWithoutReason++;
      const code = job.error_code ?? 'none';
      audit.failureCodes[code] = (audit.failureCodes[code] ?? 0) + 1;
      audit.failureExamples[code] ??= job.error_message ?? '';
    } else audit.stuck.push({ id: job.id, status: job.status, attempts: job.attempts });

    const list = byJob.get(job.id) ?? [];
    if (list.some((e, i) => e.seq !== i + 1)) audit.seqGaps++;
    const terminal = list.filter((e) => ['completed', 'failed', 'canceled'].includes(e.type));
    audit.duplicateTerminalEvents += Math.max(0, terminal.length - 1);
    const last = terminal.at(-1);
    if (last && last.type !== job.status) audit.statusMismatches++;
    for (const e of terminal) {
      if (e.type === 'completed') audit.completions.push(new Date(e.created_at).getTime());
    }
  }
  audit.completions.sort((a, b) => a - b);
  return audit;
}

/** A job's stored events in seq order (seq and type are all the audits compare). */
export async function storedEvents(
  db: Db,
  jobId: string,
): Promise<{ seq: number; type: string; at: number }[]> {
  const rows = await db
    .selectFrom('job_events')
    .select(['seq', 'type', 'created_at'])
    .where('job_id', '=', jobId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ seq: r.seq, type: r.type, at: new Date(r.created_at).getTime() }));
}
