import { Counter, Gauge, type Registry } from '@transcribe/telemetry';

export interface WorkerMetrics {
  jobs: Counter<'outcome'>;
  inFlight: Gauge;
  audioSeconds: Counter;
  chunks: Counter;
  reaped: Counter<'kind'>;
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
  };
}
