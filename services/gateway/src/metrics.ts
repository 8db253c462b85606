import { countJobsByStatusAndPriority, countStalledJobs, type Db } from '@transcribe/db';
import { Counter, Gauge, type Registry } from '@transcribe/telemetry';

export interface JobMetrics {
  created: Counter<'priority' | 'engine'>;
}

/**
 * Jobs created (counted here) and jobs by status and priority (read from Postgres at scrape
 * time, so every replica reports the same truth, not its own share).
 */
export function createJobMetrics(registry: Registry, db: Db, stallAfterS = 60): JobMetrics {
  const created = new Counter({
    name: 'transcribe_jobs_created_total',
    help: 'Jobs created through this gateway, by priority and engine',
    labelNames: ['priority', 'engine'],
    registers: [registry],
  });
  new Gauge({
    name: 'transcribe_jobs',
    help: 'Jobs in Postgres by status and priority (all tenants)',
    labelNames: ['status', 'priority'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await countJobsByStatusAndPriority(db)) {
        this.set({ status: row.status, priority: row.priority }, row.count);
      }
    },
  });
  new Gauge({
    name: 'transcribe_jobs_stalled',
    help: 'Processing jobs whose progress has not moved for longer than STALL_AFTER_S (all tenants)',
    registers: [registry],
    async collect() {
      this.set(await countStalledJobs(db, stallAfterS));
    },
  });
  return { created };
}
