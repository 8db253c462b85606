import { Counter, Gauge, type Registry } from '@transcribe/telemetry';

export interface WorkerMetrics {
  jobs: Counter<'outcome'>;
  inFlight: Gauge;
  audioSeconds: Counter;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  return {
    jobs: new Counter({
      name: 'worker_jobs_total',
      help: 'Jobs finished by this worker, by outcome (completed, failed, retried)',
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
  };
}
