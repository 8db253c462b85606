import type { RequestHandler } from 'express';
import type { QuotaExceededDetails } from '@transcribe/contracts';
import {
  capInEffect,
  countTenantJobs,
  effectiveTenantLimits,
  findTenantLimits,
  lockTenantQueue,
  tenantAudioToday,
  type Db,
  type EffectiveTenantLimits,
  type TenantLimitDefaults,
} from '@transcribe/db';
import { tenantOf } from './auth.js';
import type { GatewayDeps, GatewaySettings } from './deps.js';
import { HttpError } from './http-error.js';

// Admission of new jobs against the tenant's quotas (issue 17): queued jobs at once, and
// decoded audio per UTC day. Only new jobs are refused; nothing accepted is ever dropped.

/** The deployment's defaults, as this gateway was configured. */
export function limitDefaults(settings: GatewaySettings): TenantLimitDefaults {
  return {
    maxRunning: settings.tenantMaxConcurrentJobs ?? 10,
    maxQueued: settings.tenantMaxQueuedJobs ?? 0,
    audioSPerDay: settings.tenantMaxAudioSPerDay ?? 0,
  };
}

export async function tenantLimits(
  deps: Pick<GatewayDeps, 'db' | 'settings'>,
  tenantId: string,
): Promise<EffectiveTenantLimits> {
  const own = await findTenantLimits(deps.db, tenantId);
  return effectiveTenantLimits(
    own ?? {
      weight: 1,
      max_concurrent_jobs: null,
      max_queued_jobs: null,
      max_audio_s_per_day: null,
    },
    limitDefaults(deps.settings),
  );
}

function quotaExceeded(message: string, details: QuotaExceededDetails): HttpError {
  // Retry-After only where the quota frees up at a known time; a full queue frees up when
  // the tenant's own jobs are taken, which nobody can promise.
  const headers: Record<string, string> = {};
  if (details.resetsAt) {
    const waitS = Math.ceil((new Date(details.resetsAt).getTime() - Date.now()) / 1000);
    headers['retry-after'] = String(Math.max(1, waitS));
  }
  return new HttpError(429, 'quota_exceeded', message, details, headers);
}

/**
 * A tenant that already used its daily audio quota gets no new job until the UTC day
 * ends (the worker enforces the quota on each job's decoded duration; this only spares
 * an upload that could not be admitted anyway).
 */
export async function assertAudioQuota(
  deps: Pick<GatewayDeps, 'db' | 'settings'>,
  tenantId: string,
): Promise<void> {
  const quota = await tenantAudioToday(deps.db, tenantId);
  const limitS = capInEffect(quota.maxS, deps.settings.tenantMaxAudioSPerDay ?? 0);
  if (limitS === null || quota.usedS < limitS) return;
  const resetsAt = quota.resetsAt.toISOString();
  throw quotaExceeded(
    `the daily audio quota of ${limitS} s is used up (${Math.round(quota.usedS)} s today); it resets at ${resetsAt}`,
    {
      quota: 'audio_s_per_day',
      limit: limitS,
      used: quota.usedS,
      resetsAt,
      limitS,
      usedS: quota.usedS,
    },
  );
}

/**
 * Inside the creation transaction: takes the tenant's admission lock, then refuses the
 * job if the tenant already has its cap of queued jobs. Concurrent creations queue on the
 * lock and each counts what the previous ones committed, so the cap holds exactly.
 */
export async function admitQueuedJob(
  trx: Db,
  settings: GatewaySettings,
  tenantId: string,
): Promise<void> {
  const { queued, max } = await lockTenantQueue(trx, tenantId);
  const limit = capInEffect(max, settings.tenantMaxQueuedJobs ?? 0);
  if (limit === null || queued < limit) return;
  throw queuedJobsExceeded(limit, queued);
}

export function queuedJobsExceeded(limit: number, queued: number): HttpError {
  return quotaExceeded(
    `the tenant already has ${queued} ${queued === 1 ? 'job' : 'jobs'} queued, its limit is ${limit}: submit more once some have started`,
    { quota: 'queued_jobs', limit, used: queued, resetsAt: null },
  );
}

/**
 * Before a form upload streams its file: a tenant over either quota is refused without
 * the file being stored at all. (The creation transaction checks again: this one is not
 * locked, it only spares the bytes.)
 */
export function refuseOverQuota(deps: GatewayDeps): RequestHandler {
  return async (req, _res, next) => {
    const tenantId = tenantOf(req);
    await assertAudioQuota(deps, tenantId);
    const limits = await tenantLimits(deps, tenantId);
    if (limits.maxQueued !== null) {
      const { queued } = await countTenantJobs(deps.db, tenantId);
      if (queued >= limits.maxQueued) throw queuedJobsExceeded(limits.maxQueued, queued);
    }
    next();
  };
}
