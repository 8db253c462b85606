import {
  countJobsByStatusAndPriority,
  countStalledJobs,
  readLaneBacklogs,
  type Db,
  type JobCount,
  type LaneBacklog,
} from '@transcribe/db';
import type { Broker } from '@transcribe/queue';
import { Counter, Gauge, type Registry } from '@transcribe/telemetry';
import { boundedSnapshot } from './scrape-snapshot.js';

export interface JobMetrics {
  created: Counter<'priority' | 'engine'>;
}

export interface JobMetricsOptions {
  /** How long a scrape waits for Postgres before it reports the last values it has. */
  readTimeoutMs?: number;
  /**
   * A read this recent is served again (several scrapers); default 0: each scrape reads,
   * the gauges of one scrape sharing one read, so a scrape after a change shows it.
   */
  maxAgeMs?: number;
  /** The broker, to show its own message count per lane next to Postgres's depth; optional. */
  broker?: Partial<Pick<Broker, 'names' | 'messageCount'>>;
}

interface DbFigures {
  jobs: JobCount[];
  stalled: number;
  lanes: LaneBacklog[];
}

/**
 * Jobs created (counted here), and what Postgres says of all tenants at scrape time (so
 * every replica reports the same truth, not its own share): jobs by status and priority,
 * stalled jobs, and each lane's depth and oldest age. The Postgres figures come from one
 * bounded read shared by the gauges (scrape-snapshot.ts): a slow or absent database makes
 * a scrape report the last values and `transcribe_metrics_db_up 0`, never hang or fail.
 */
export function createJobMetrics(
  registry: Registry,
  db: Db,
  stallAfterS = 60,
  options: JobMetricsOptions = {},
): JobMetrics {
  const created = new Counter({
    name: 'transcribe_jobs_created_total',
    help: 'Jobs created through this gateway, by priority and engine',
    labelNames: ['priority', 'engine'],
    registers: [registry],
  });
  const snapshot = boundedSnapshot<DbFigures>(
    async () => {
      const [jobs, stalled, lanes] = await Promise.all([
        countJobsByStatusAndPriority(db),
        countStalledJobs(db, stallAfterS),
        readLaneBacklogs(db),
      ]);
      return { jobs, stalled, lanes };
    },
    { timeoutMs: options.readTimeoutMs ?? 2000, maxAgeMs: options.maxAgeMs ?? 0 },
  );
  new Gauge({
    name: 'transcribe_jobs',
    help: 'Jobs in Postgres by status and priority (all tenants)',
    labelNames: ['status', 'priority'],
    registers: [registry],
    async collect() {
      const { value } = await snapshot();
      if (!value) return;
      this.reset();
      for (const row of value.jobs) {
        this.set({ status: row.status, priority: row.priority }, row.count);
      }
    },
  });
  new Gauge({
    name: 'transcribe_jobs_stalled',
    help: 'Processing jobs whose progress has not moved for longer than STALL_AFTER_S (all tenants)',
    registers: [registry],
    async collect() {
      const { value } = await snapshot();
      if (value) this.set(value.stalled);
    },
  });
  new Gauge({
    name: 'transcribe_queue_depth',
    help: 'Work waiting for a worker, by lane: jobs (queued jobs and unclaimed fanned-out chunks) and enrich (queued enrichments of transcribed jobs); retries in backoff included',
    labelNames: ['lane'],
    registers: [registry],
    async collect() {
      const { value } = await snapshot();
      for (const lane of value?.lanes ?? []) this.set({ lane: lane.lane }, lane.depth);
    },
  });
  new Gauge({
    name: 'transcribe_queue_oldest_age_seconds',
    help: 'Seconds the oldest work a worker could take now has waited, by lane (0 when none)',
    labelNames: ['lane'],
    registers: [registry],
    async collect() {
      const { value } = await snapshot();
      for (const lane of value?.lanes ?? []) this.set({ lane: lane.lane }, lane.oldestAgeS);
    },
  });
  new Gauge({
    name: 'transcribe_metrics_db_up',
    help: "1 when this scrape's Postgres figures were read in time; 0 when the transcribe_jobs* and transcribe_queue_* gauges show the last values read",
    registers: [registry],
    async collect() {
      this.set((await snapshot()).fresh ? 1 : 0);
    },
  });
  new Gauge({
    name: 'transcribe_metrics_db_age_seconds',
    help: 'Age of the Postgres figures in this scrape (grows while Postgres does not answer)',
    registers: [registry],
    async collect() {
      const { readAt } = await snapshot();
      if (readAt !== undefined) this.set((Date.now() - readAt) / 1000);
    },
  });
  const { names, messageCount } = options.broker ?? {};
  if (names && messageCount) brokerGauges(registry, names, messageCount, options);
  return { created };
}

/**
 * The broker's own count of ready messages per lane queue (delay queues and unacknowledged
 * deliveries not included): with the outbox, it follows Postgres's depth; a gap that stays
 * says messages are lost or stuck (a relay that cannot publish). Same bounds as Postgres's.
 */
function brokerGauges(
  registry: Registry,
  names: Broker['names'],
  messageCount: Broker['messageCount'],
  options: JobMetricsOptions,
): void {
  const snapshot = boundedSnapshot(
    async () => {
      const [jobs, enrich] = await Promise.all([
        messageCount(names.jobsQueue),
        messageCount(names.enrichQueue),
      ]);
      return { jobs, enrich };
    },
    { timeoutMs: options.readTimeoutMs ?? 2000, maxAgeMs: options.maxAgeMs ?? 0 },
  );
  new Gauge({
    name: 'transcribe_queue_broker_messages',
    help: "Messages ready in the broker's lane queue (transcribe.jobs, transcribe.enrich), as RabbitMQ counts them",
    labelNames: ['lane'],
    registers: [registry],
    async collect() {
      const { value } = await snapshot();
      if (!value) return;
      this.set({ lane: 'jobs' }, value.jobs);
      this.set({ lane: 'enrich' }, value.enrich);
    },
  });
  new Gauge({
    name: 'transcribe_metrics_broker_up',
    help: "1 when this scrape's broker counts were read in time; 0 when transcribe_queue_broker_messages shows the last values read",
    registers: [registry],
    async collect() {
      this.set((await snapshot()).fresh ? 1 : 0);
    },
  });
}
