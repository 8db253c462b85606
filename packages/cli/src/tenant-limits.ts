import type { EffectiveTenantLimits, TenantLimitsRow, TenantLimitsUpdate } from '@transcribe/db';
import { UsageError } from './exit-codes.js';

// `transcribe tenants set` and `tenants show`: what the operator types, checked before
// anything is written, and what they see, each limit with where it comes from.

export interface TenantSetOptions {
  weight?: string;
  maxRunning?: string;
  maxQueued?: string;
  audioHoursPerDay?: string;
}

/** A number the option accepts, or "default" (null: the deployment's setting). */
function limitValue(
  option: string,
  value: string,
  accept: (n: number) => boolean,
  what: string,
): number | null {
  if (value === 'default') return null;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || !accept(n)) {
    throw new UsageError(`invalid ${option} "${value}": ${what} or "default"`);
  }
  return n;
}

/** The update `tenants set` makes; a usage error for a bad value or no option at all. */
export function parseTenantSet(opts: TenantSetOptions): TenantLimitsUpdate {
  const update: TenantLimitsUpdate = {};
  if (opts.weight !== undefined) {
    const n = opts.weight.trim() === '' ? NaN : Number(opts.weight);
    // The scheduler divides by the weight; a tenant with none would never be served.
    if (!Number.isFinite(n) || n <= 0 || n > 1000) {
      throw new UsageError(`invalid --weight "${opts.weight}": a number above 0, at most 1000`);
    }
    update.weight = n;
  }
  if (opts.maxRunning !== undefined) {
    update.maxConcurrentJobs = limitValue(
      '--max-running',
      opts.maxRunning,
      (n) => Number.isInteger(n) && n > 0,
      'a positive integer',
    );
  }
  if (opts.maxQueued !== undefined) {
    update.maxQueuedJobs = limitValue(
      '--max-queued',
      opts.maxQueued,
      (n) => Number.isInteger(n) && n >= 0 && n <= 2_147_483_647,
      'an integer, 0 for no limit,',
    );
  }
  if (opts.audioHoursPerDay !== undefined) {
    const hours = limitValue(
      '--audio-hours-per-day',
      opts.audioHoursPerDay,
      (n) => n >= 0 && n <= 24 * 365,
      'hours (a decimal number), 0 for no limit,',
    );
    // Stored in seconds, as the quota counts them.
    update.maxAudioSPerDay = hours === null ? null : Math.round(hours * 3600);
  }
  if (Object.keys(update).length === 0) {
    throw new UsageError(
      'nothing to set: give --weight, --max-running, --max-queued or --audio-hours-per-day',
    );
  }
  return update;
}

/** What `tenants set` did, in one line. */
export function describeUpdate(name: string, update: TenantLimitsUpdate): string {
  const parts: string[] = [];
  const or = (v: number | null | undefined, show: (n: number) => string) =>
    v === null ? 'the default' : v === 0 ? 'no limit' : show(v!);
  if (update.weight !== undefined) parts.push(`weight ${update.weight}`);
  if (update.maxConcurrentJobs !== undefined)
    parts.push(`jobs processing at once: ${or(update.maxConcurrentJobs, String)}`);
  if (update.maxQueuedJobs !== undefined)
    parts.push(`jobs queued at once: ${or(update.maxQueuedJobs, String)}`);
  if (update.maxAudioSPerDay !== undefined)
    parts.push(`audio per day: ${or(update.maxAudioSPerDay, formatHours)}`);
  return `tenant "${name}": ${parts.join('; ')}`;
}

export function formatHours(seconds: number): string {
  return `${Number((seconds / 3600).toFixed(2))} h`;
}

/** One tenant as `tenants show` prints it. */
export interface TenantShowRow {
  tenant: string;
  id: string;
  weight: number;
  limits: {
    maxRunning: number;
    maxQueued: number | null;
    audioSecondsPerDay: number | null;
  };
  /** Which limits are the tenant's own (false: the deployment's default). */
  own: { maxRunning: boolean; maxQueued: boolean; audioSecondsPerDay: boolean };
  queued: number;
  running: number;
  audioSecondsToday: number;
}

export function showRow(
  row: TenantLimitsRow,
  limits: EffectiveTenantLimits,
  use: { queued: number; running: number; audioSecondsToday: number },
): TenantShowRow {
  return {
    tenant: row.name,
    id: row.id,
    weight: limits.weight,
    limits: {
      maxRunning: limits.maxRunning,
      maxQueued: limits.maxQueued,
      audioSecondsPerDay: limits.audioSPerDay,
    },
    own: {
      maxRunning: row.max_concurrent_jobs !== null,
      maxQueued: row.max_queued_jobs !== null,
      audioSecondsPerDay: row.max_audio_s_per_day !== null,
    },
    ...use,
  };
}

/** A limit in effect for the table: `none` for no limit, `(default)` when not the tenant's own. */
export function showLimit(
  value: number | null,
  own: boolean,
  format: (n: number) => string = String,
): string {
  const shown = value === null ? 'none' : format(value);
  return own ? shown : `${shown} (default)`;
}
