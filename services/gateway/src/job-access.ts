import type { Request } from 'express';
import { z } from 'zod';
import type { Job } from '@transcribe/contracts';
import { findJob, listEnrichments, type JobRow } from '@transcribe/db';
import { queuePositions } from '@transcribe/jobs';
import { tenantOf } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { notFound } from './http-error.js';
import { toJob, type LiveContext } from './job-view.js';

const JobId = z.uuid();

/** The caller's job `:id`, or 404 for unknown ids, malformed ids and other tenants' ids alike. */
export async function loadTenantJob(deps: Pick<GatewayDeps, 'db'>, req: Request): Promise<JobRow> {
  const id = JobId.safeParse(req.params.id);
  const job = id.success ? await findJob(deps.db, tenantOf(req), id.data) : undefined;
  if (!job) throw notFound();
  return job;
}

/**
 * The clock, stall bound and queue places for the views of `rows`: one query for the
 * places of the queued ones (none when none is queued).
 */
export async function liveContexts(
  deps: Pick<GatewayDeps, 'db' | 'settings'>,
  rows: readonly JobRow[],
): Promise<(row: JobRow) => LiveContext> {
  const queued = rows.filter((r) => r.status === 'queued').map((r) => r.id);
  const places = await queuePositions(deps.db, queued);
  const now = new Date();
  const stallAfterS = deps.settings.stallAfterS ?? 60;
  return (row) => ({ now, stallAfterS, place: places.get(row.id) });
}

/** The public view of one job, with its enrichments and live progress fields. */
export async function jobView(
  deps: Pick<GatewayDeps, 'db' | 'links' | 'settings'>,
  row: JobRow,
): Promise<Job> {
  const live = await liveContexts(deps, [row]);
  return toJob(row, deps.links, await listEnrichments(deps.db, row.id), live(row));
}
