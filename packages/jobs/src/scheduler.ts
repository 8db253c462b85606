// The fair scheduler's claim edge (issue 17). With SCHEDULER=fair a message on the jobs
// lane names no work: it is a token for "one unit of work may start", and the unit is
// chosen here, in fair order between tenants (scheduler.repository.ts), and claimed in
// the same transaction. Each queued job and each dispatched chunk has its message, and
// a token claims at most one unit, so there are never fewer tokens than units.
import {
  claimChunk,
  findJobById,
  lockNextChunk,
  lockNextQueuedJob,
  lockTenantSlots,
  markTenantServed,
  rankWorkGroups,
  type Db,
  type JobChunk,
  type JobRow,
  type WorkGroup,
} from '@transcribe/db';
import { claimAttempt } from './lifecycle.js';

export type ClaimedWork =
  | { kind: 'job'; job: JobRow }
  | { kind: 'chunk'; job: JobRow; chunk: JobChunk; holder: string }
  /** Work exists but none may start now (a tenant at its cap, a backoff, a lease, a lock): keep the token. */
  | { kind: 'blocked' }
  /** Nothing waits: the token is spare (a duplicate or a republished message). */
  | { kind: 'idle' };

export interface ClaimNextOptions {
  /** Lease of a claimed whole job. */
  leaseMs: number;
  /** Lease of a claimed chunk (its holder renews it). */
  chunkLeaseMs: number;
  /** The deployment's cap on a tenant's processing jobs (tenants.max_concurrent_jobs overrides); undefined: none. */
  tenantMaxConcurrent?: number;
  /** False on a worker that cannot run chunks (no fan-out storage): it takes only jobs. */
  chunks: boolean;
  /** The chunk lease token for this claim: `a<attempt>:` is prefixed here. */
  holderId: string;
}

/**
 * Takes the next unit of work in fair order, or says why there is none: the ranking, the
 * unit's row lock (SKIP LOCKED, so concurrent claimers take different units), its claim
 * (a job's as claimAttempt: attempt, lease, `processing` event; a chunk's lease under a
 * holder token) and the tenant's round-robin mark, in one transaction.
 *
 * A job's claim waits for its tenant's claim lock, so a transaction takes at most one: a
 * claimer that held tenant A's lock while it waited for B's, beside one holding B's and
 * waiting for A's, was a deadlock (seen with 40 concurrent claimers). A job group that
 * yields nothing ends the transaction; the next one ranks again without that group.
 */
export async function claimNextWork(db: Db, options: ClaimNextOptions): Promise<ClaimedWork> {
  const tried = new Set<string>();
  let blocked = false;
  for (;;) {
    const outcome = await db.transaction().execute((trx) => claimOnce(trx, options, tried));
    if (outcome.kind !== 'again')
      return blocked && outcome.kind === 'idle' ? { kind: 'blocked' } : outcome;
    // Every unit of that group was being claimed by others (or just went): work may
    // still turn up there, so a token that finds nothing else is kept.
    blocked = true;
    tried.add(outcome.group);
  }
}

const groupKey = (g: WorkGroup) => `${g.kind}:${g.priority}:${g.tenantId}`;

async function claimOnce(
  trx: Db,
  options: ClaimNextOptions,
  tried: ReadonlySet<string>,
): Promise<ClaimedWork | { kind: 'again'; group: string }> {
  const groups = await rankWorkGroups(trx, {
    defaultMaxConcurrent: options.tenantMaxConcurrent,
    chunks: options.chunks,
  });
  let blocked = false;
  for (const group of groups) {
    if (tried.has(groupKey(group))) continue;
    if (!group.claimable) {
      blocked = true;
      continue;
    }
    const claimed =
      group.kind === 'job'
        ? await claimJobOf(trx, group, options)
        : await claimChunkOf(trx, group, options);
    if (claimed) {
      await markTenantServed(trx, group.tenantId);
      return claimed;
    }
    // A job group held its tenant's lock: start again in a new transaction. A chunk
    // group takes no such lock, so the next group can be tried in this one.
    if (group.kind === 'job') return { kind: 'again', group: groupKey(group) };
    blocked = true;
  }
  return { kind: blocked ? 'blocked' : 'idle' };
}

async function claimJobOf(
  trx: Db,
  group: WorkGroup,
  options: ClaimNextOptions,
): Promise<ClaimedWork | undefined> {
  // The ranking's count was read before any lock: under the tenant's claim lock (the one
  // SCHEDULER=fifo takes too, and first, as there: a fleet rolling from one scheduler to
  // the other cannot deadlock on it) two workers cannot both take its last free slot.
  const slots = await lockTenantSlots(trx, group.tenantId);
  const max = slots.max ?? options.tenantMaxConcurrent;
  if (max !== undefined && slots.processing >= max) return undefined;
  const id = await lockNextQueuedJob(trx, group);
  if (!id) return undefined;
  const job = await claimAttempt(trx, id, { leaseMs: options.leaseMs });
  return job && { kind: 'job', job };
}

async function claimChunkOf(
  trx: Db,
  group: WorkGroup,
  options: ClaimNextOptions,
): Promise<ClaimedWork | undefined> {
  const unit = await lockNextChunk(trx, group);
  if (!unit) return undefined;
  const holder = `a${unit.attempt}:${options.holderId}`;
  const chunk = await claimChunk(trx, { ...unit, holder, leaseMs: options.chunkLeaseMs });
  if (typeof chunk === 'string') return undefined;
  const job = await findJobById(trx, unit.jobId);
  return job && { kind: 'chunk', job, chunk, holder };
}
