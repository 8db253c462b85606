import { Router } from 'express';
import {
  DEFAULT_USAGE_RANGE_DAYS,
  MAX_USAGE_RANGE_DAYS,
  UsageQuery,
  type QueueResponse,
  type UsageDay,
  type UsageResponse,
} from '@transcribe/contracts';
import {
  countTenantJobs,
  firstQueuedJobIds,
  listTenantUsage,
  tenantAudioToday,
} from '@transcribe/db';
import { queuePositions } from '@transcribe/jobs';
import { tenantOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { tenantLimits } from '../quota.js';

const DAY_MS = 24 * 60 * 60_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const msOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The asked range with its defaults (today; the 30 days up to `to`), or a 400 saying why not. */
export function usageRange(
  query: { from?: string; to?: string },
  now = Date.now(),
): { from: string; to: string } {
  const to = query.to ?? dayOf(now);
  const from = query.from ?? dayOf(msOf(to) - (DEFAULT_USAGE_RANGE_DAYS - 1) * DAY_MS);
  const days = (msOf(to) - msOf(from)) / DAY_MS + 1;
  if (days < 1) {
    throw new HttpError(400, 'validation_failed', `from (${from}) is after to (${to})`, [
      { path: ['from'], message: 'must not be after to' },
    ]);
  }
  if (days > MAX_USAGE_RANGE_DAYS) {
    throw new HttpError(
      400,
      'validation_failed',
      `from ${from} to ${to} is ${days} days; at most ${MAX_USAGE_RANGE_DAYS} at once`,
      [{ path: ['from'], message: `at most ${MAX_USAGE_RANGE_DAYS} days before to` }],
    );
  }
  return { from, to };
}

/** `GET /v1/usage` and `GET /v1/queue`: the calling tenant's own figures, nobody else's. */
export function usageRouter(deps: GatewayDeps): Router {
  const router = Router();

  router.get('/v1/usage', async (req, res) => {
    const range = usageRange(UsageQuery.parse(req.query));
    const rows = await listTenantUsage(deps.db, tenantOf(req), range);
    const byDay = new Map(rows.map((row) => [row.day, row]));
    const days: UsageDay[] = [];
    for (let ms = msOf(range.from); ms <= msOf(range.to); ms += DAY_MS) {
      const day = dayOf(ms);
      const row = byDay.get(day);
      days.push({
        day,
        jobsSubmitted: row?.jobsSubmitted ?? 0,
        jobsCompleted: row?.jobsCompleted ?? 0,
        jobsFailed: row?.jobsFailed ?? 0,
        audioSeconds: row?.audioS ?? 0,
        processingSeconds: row?.processingS ?? 0,
      });
    }
    const totals = {
      jobsSubmitted: 0,
      jobsCompleted: 0,
      jobsFailed: 0,
      audioSeconds: 0,
      processingSeconds: 0,
    };
    for (const day of days) {
      totals.jobsSubmitted += day.jobsSubmitted;
      totals.jobsCompleted += day.jobsCompleted;
      totals.jobsFailed += day.jobsFailed;
      totals.audioSeconds += day.audioSeconds;
      totals.processingSeconds += day.processingSeconds;
    }
    const body: UsageResponse = { ...range, days, totals };
    res.json(body);
  });

  router.get('/v1/queue', async (req, res) => {
    const tenantId = tenantOf(req);
    const [counts, limits, audio, heads] = await Promise.all([
      countTenantJobs(deps.db, tenantId),
      tenantLimits(deps, tenantId),
      tenantAudioToday(deps.db, tenantId),
      firstQueuedJobIds(deps.db, tenantId),
    ]);
    const places = await queuePositions(deps.db, heads);
    let next: QueueResponse['next'] = null;
    for (const [jobId, place] of places) {
      if (next === null || place.position < next.position) {
        next = {
          jobId,
          position: place.position,
          estimatedStartAt: place.estimatedStartAt?.toISOString() ?? null,
        };
      }
    }
    const body: QueueResponse = {
      ...counts,
      limits: {
        maxRunning: limits.maxRunning,
        maxQueued: limits.maxQueued,
        audioSecondsPerDay: limits.audioSPerDay,
        weight: limits.weight,
      },
      audioSecondsToday: audio.usedS,
      audioResetsAt: audio.resetsAt.toISOString(),
      next,
    };
    res.json(body);
  });

  return router;
}
