import type { JobRow } from '@transcribe/db';
import { Counter, Gauge, Histogram, type Registry } from '@transcribe/telemetry';
import { tenantLabeler } from './tenant-label.js';

/**
 * How a job's attempt ended on this worker. A job's end (counted once per end, by the
 * worker whose transition applied): completed, failed, canceled (a cancel seen mid-run).
 * An attempt's end: retried, handed_over (shutdown), abandoned (taken over).
 */
export type JobOutcome =
  'completed' | 'failed' | 'canceled' | 'retried' | 'handed_over' | 'abandoned';

/** Seconds to hours: a queue wait or a job may take a second or most of a working day. */
export const SECONDS_TO_HOURS = [
  0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800,
];

export interface WorkerMetrics {
  jobs: Counter<'outcome'>;
  /** Seconds from jobs.queued_at to this worker's claim, by priority. */
  queueWait: Histogram<'priority'>;
  /** The same, by tenant (`tenantLabel`: bounded, see tenant-label.ts). */
  tenantQueueWait: Histogram<'tenant'>;
  /** Seconds from the attempt's claim to its end, by outcome and priority. */
  processing: Histogram<'outcome' | 'priority'>;
  tenantLabel: (tenantId: string) => string;
  /** Claim times of the job rows this process claimed (a row object is one attempt). */
  claimedAt: WeakMap<object, number>;
  inFlight: Gauge;
  audioSeconds: Counter;
  chunks: Counter;
  reaped: Counter<'kind'>;
  /** Enrichments this worker finished, by kind and outcome (completed, failed, requeued). */
  enrichments: Counter<'kind' | 'outcome'>;
  /** Seconds of one piece's chat request (or one reduce request), by kind. */
  enrichPieceSeconds: Histogram<'kind'>;
  /** Chat tokens spent, by kind and type (prompt, completion). */
  enrichTokens: Counter<'kind' | 'type'>;
}

export function createWorkerMetrics(
  registry: Registry,
  options: { tenantLabels?: number } = {},
): WorkerMetrics {
  return {
    jobs: new Counter({
      name: 'worker_jobs_total',
      help: 'Job attempts settled by this worker, by outcome: job ends (completed, failed, canceled), counted once per end; attempt ends (retried, handed_over, abandoned)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'worker_job_queue_wait_seconds',
      help: 'Seconds a job waited in the queue (from when it last entered it to its claim), by priority',
      labelNames: ['priority'],
      buckets: SECONDS_TO_HOURS,
      registers: [registry],
    }),
    tenantQueueWait: new Histogram({
      name: 'worker_tenant_queue_wait_seconds',
      help: 'Seconds a job waited in the queue, by tenant id (the first METRICS_TENANT_LABELS tenants seen; later ones as other)',
      labelNames: ['tenant'],
      buckets: SECONDS_TO_HOURS,
      registers: [registry],
    }),
    processing: new Histogram({
      name: 'worker_job_processing_seconds',
      help: "Seconds from a job attempt's claim to its end, by outcome and priority",
      labelNames: ['outcome', 'priority'],
      buckets: SECONDS_TO_HOURS,
      registers: [registry],
    }),
    tenantLabel: tenantLabeler(options.tenantLabels ?? 20),
    claimedAt: new WeakMap(),
    inFlight: new Gauge({
      name: 'worker_jobs_in_flight',
      help: 'Jobs being processed now',
      registers: [registry],
    }),
    audioSeconds: new Counter({
      name: 'worker_audio_seconds_total',
      help: 'Seconds of audio transcribed',
      registers: [registry],
    }),
    chunks: new Counter({
      name: 'worker_chunks_total',
      help: 'Audio chunks transcribed',
      registers: [registry],
    }),
    reaped: new Counter({
      name: 'worker_reaped_jobs_total',
      help: 'Jobs found again by the reaper (requeued, failed, republished)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    enrichments: new Counter({
      name: 'worker_enrichments_total',
      help: 'Enrichments settled by this worker, by kind and outcome (completed, failed, requeued)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    enrichPieceSeconds: new Histogram({
      name: 'worker_enrichment_piece_seconds',
      help: "Duration of one enrichment piece's chat request (map or reduce), by kind",
      labelNames: ['kind'],
      buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320],
      registers: [registry],
    }),
    enrichTokens: new Counter({
      name: 'worker_enrichment_tokens_total',
      help: 'Chat tokens spent on enrichments, by kind and type (prompt, completion)',
      labelNames: ['kind', 'type'],
      registers: [registry],
    }),
  };
}

/** A claim: the job's queue wait, overall and for its tenant. */
export function observeClaim(
  metrics: WorkerMetrics,
  job: Pick<JobRow, 'tenant_id' | 'priority' | 'queued_at'>,
  now = Date.now(),
): void {
  metrics.claimedAt.set(job, now);
  // Postgres stamped queued_at; a worker's clock a little behind must not make it negative.
  const waitS = Math.max(0, (now - job.queued_at.getTime()) / 1000);
  metrics.queueWait.observe({ priority: job.priority }, waitS);
  metrics.tenantQueueWait.observe({ tenant: metrics.tenantLabel(job.tenant_id) }, waitS);
}

/**
 * An attempt's end: counted by outcome, and its processing time observed. From the claim
 * this process saw when it holds that row; otherwise (a fanned-out job ending on a chunk's
 * worker) from when the attempt can have started at the earliest that Postgres knows:
 * started_at for a first attempt, the requeue (queued_at) for a later one, which counts
 * that retry's queue wait too.
 */
export function recordJobEnd(
  metrics: WorkerMetrics,
  job: Pick<JobRow, 'priority' | 'started_at' | 'queued_at'>,
  outcome: JobOutcome,
  now = Date.now(),
): void {
  metrics.jobs.inc({ outcome });
  const claimedAt =
    metrics.claimedAt.get(job) ??
    Math.max(job.started_at?.getTime() ?? now, job.queued_at.getTime());
  metrics.processing.observe(
    { outcome, priority: job.priority },
    Math.max(0, (now - claimedAt) / 1000),
  );
}
