import { Counter, Gauge, Histogram, type Registry } from '@transcribe/telemetry';

export interface WorkerMetrics {
  jobs: Counter<'outcome'>;
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

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  return {
    jobs: new Counter({
      name: 'worker_jobs_total',
      help: 'Jobs settled by this worker, by outcome (completed, failed, retried, abandoned, handed_over)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
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
