import type { Request } from 'express';
import { z } from 'zod';
import type { Job } from '@transcribe/contracts';
import { findJob, listEnrichments, type JobRow } from '@transcribe/db';
import { tenantOf } from './auth.js';
import type { GatewayDeps } from './deps.js';
import { notFound } from './http-error.js';
import { toJob } from './job-view.js';

const JobId = z.uuid();

/** The caller's job `:id`, or 404 for unknown ids, malformed ids and other tenants' ids alike. */
export async function loadTenantJob(deps: Pick<GatewayDeps, 'db'>, req: Request): Promise<JobRow> {
  const id = JobId.safeParse(req.params.id);
  const job = id.success ? await findJob(deps.db, tenantOf(req), id.data) : undefined;
  if (!job) throw notFound();
  return job;
}

/** The public view of one job, with its enrichments. */
export async function jobView(deps: Pick<GatewayDeps, 'db' | 'links'>, row: JobRow): Promise<Job> {
  return toJob(row, deps.links, await listEnrichments(deps.db, row.id));
}
