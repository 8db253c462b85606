import { lockExpiredJobs, lockExpiredUploads, type Db } from '@transcribe/db';
import type { Storage } from '@transcribe/storage';
import type { Logger } from '@transcribe/telemetry';
import { discardUpload, purgeJob } from './cleanup.js';
import { UPLOAD_CLAIM_GRACE_MS } from './job-creation.js';

export interface SweeperDeps {
  db: Db;
  storage: Storage;
  logger: Logger;
  /** Finished jobs older than this are purged; 0 keeps them forever. */
  retentionDays: number;
  intervalMs: number;
  batchSize?: number;
}

export interface SweepResult {
  uploads: number;
  jobs: number;
}

/**
 * One pass: unused uploads past their claim window (unfinished multipart uploads are
 * aborted), then finished jobs past retention. Rows are locked with SKIP LOCKED, so every
 * gateway replica may sweep at once without doing the same work twice.
 */
export async function sweepOnce(deps: SweeperDeps, now = new Date()): Promise<SweepResult> {
  const batch = deps.batchSize ?? 100;
  const uploads = await drain(deps.db, batch, async (trx) => {
    const rows = await lockExpiredUploads(trx, UPLOAD_CLAIM_GRACE_MS, batch);
    for (const upload of rows) await discardUpload(trx, deps.storage, upload);
    return rows.length;
  });
  let jobs = 0;
  if (deps.retentionDays > 0) {
    const before = new Date(now.getTime() - deps.retentionDays * 86_400_000);
    jobs = await drain(deps.db, batch, async (trx) => {
      const rows = await lockExpiredJobs(trx, before, batch);
      for (const job of rows) await purgeJob(trx, deps.storage, job);
      return rows.length;
    });
  }
  return { uploads, jobs };
}

/** Runs `step` in a transaction per batch until a batch comes back short; the total done. */
async function drain(db: Db, batch: number, step: (trx: Db) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.transaction().execute(step);
    total += n;
    if (n < batch) return total;
  }
}

/** Sweeps every `intervalMs` until stopped; a failed pass is logged and retried next time. */
export function startSweeper(deps: SweeperDeps): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = sweepOnce(deps).then(
      (r) => {
        if (r.uploads || r.jobs) deps.logger.info(r, 'swept expired uploads and jobs');
      },
      (err: unknown) => deps.logger.warn({ err }, 'sweep failed'),
    );
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
