import { gatewaySchema, workerSchema } from '@transcribe/config';
import type { TenantLimitsRow } from './tenants.repository.js';

// A tenant's limits in effect: its own (tenants row) where set, else the deployment's
// settings. One place, so the gateway's admission, GET /v1/queue and the operator CLI's
// `tenants show` cannot disagree on what "default" and 0 mean.

/** The deployment's settings; 0 is no limit for queued jobs and audio, as in the config. */
export interface TenantLimitDefaults {
  /** TENANT_MAX_CONCURRENT_JOBS (workers). */
  maxRunning: number;
  /** TENANT_MAX_QUEUED_JOBS (gateway). */
  maxQueued: number;
  /** TENANT_MAX_AUDIO_S_PER_DAY (gateway and workers). */
  audioSPerDay: number;
}

/** The limits in effect; null: no limit. */
export interface EffectiveTenantLimits {
  weight: number;
  maxRunning: number;
  maxQueued: number | null;
  audioSPerDay: number | null;
}

/** One cap in effect: the tenant's own where set, else the deployment's; 0 (or less) is none. */
export function capInEffect(own: number | null, deployment: number): number | null {
  const value = own ?? deployment;
  return value > 0 ? value : null;
}

export function effectiveTenantLimits(
  own: Pick<
    TenantLimitsRow,
    'weight' | 'max_concurrent_jobs' | 'max_queued_jobs' | 'max_audio_s_per_day'
  >,
  defaults: TenantLimitDefaults,
): EffectiveTenantLimits {
  return {
    weight: own.weight,
    maxRunning: own.max_concurrent_jobs ?? defaults.maxRunning,
    maxQueued: capInEffect(own.max_queued_jobs, defaults.maxQueued),
    audioSPerDay: capInEffect(own.max_audio_s_per_day, defaults.audioSPerDay),
  };
}

/**
 * The defaults as the services read them from this environment (their schemas' defaults
 * where unset): for the operator CLI, which runs with the deployment's environment.
 */
export function tenantLimitDefaultsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): TenantLimitDefaults {
  const read = (
    name: string,
    schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  ) => {
    const parsed = schema.safeParse(env[name] === '' ? undefined : env[name]);
    if (!parsed.success) throw new Error(`${name}="${env[name]}" is not a valid setting`);
    return parsed.data as number;
  };
  return {
    maxRunning: read('TENANT_MAX_CONCURRENT_JOBS', workerSchema.shape.TENANT_MAX_CONCURRENT_JOBS),
    maxQueued: read('TENANT_MAX_QUEUED_JOBS', gatewaySchema.shape.TENANT_MAX_QUEUED_JOBS),
    audioSPerDay: read(
      'TENANT_MAX_AUDIO_S_PER_DAY',
      gatewaySchema.shape.TENANT_MAX_AUDIO_S_PER_DAY,
    ),
  };
}
