import type { DiscontinuityFrame } from '@transcribe/contracts';
import type { TenantCursor } from '@transcribe/db';
import { cursorAfter, formatCursor } from './cursor.js';

/**
 * The frame for a one-job stream resuming (`after` > 0) from a job that no longer exists.
 * Any missing job with `after` > 0 gets it, whether it was deleted or belongs to another
 * tenant, so it tells nothing about other tenants' jobs that a 4404 would not.
 */
export function jobDeletedFrame(jobId: string, after: number): DiscontinuityFrame {
  return {
    kind: 'discontinuity',
    reason: 'job_deleted',
    jobId,
    after,
    message:
      `job ${jobId} no longer exists (deleted, e.g. by retention): its events after seq ` +
      `${after} cannot be replayed`,
  };
}

/**
 * The frame for a tenant stream resuming from `after` when events past it were deleted
 * (the tenant's horizon is further on), or undefined when nothing after it is missing.
 */
export function tenantGapFrame(
  after: TenantCursor,
  horizon: TenantCursor | undefined,
): DiscontinuityFrame | undefined {
  if (!horizon || !cursorAfter(horizon, after)) return undefined;
  return {
    kind: 'discontinuity',
    reason: 'events_deleted',
    after: formatCursor(after),
    through: formatCursor(horizon),
    message:
      'events after this cursor were deleted since (retention or job deletion); the ' +
      'stream goes on with those that remain: re-read state over REST to fill the gap',
  };
}
