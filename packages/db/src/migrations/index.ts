import type { Migration } from 'kysely';
import * as m0001 from './0001_init.js';
import * as m0002 from './0002_gateway_api.js';
import * as m0003 from './0003_worker_chunks.js';
import * as m0004 from './0004_webhooks.js';
import * as m0005 from './0005_tenant_event_horizon.js';
import * as m0006 from './0006_worker_faults.js';
import * as m0007 from './0007_job_language.js';
import * as m0008 from './0008_words.js';
import * as m0009 from './0009_enrichments.js';
import * as m0010 from './0010_progress.js';
import * as m0011 from './0011_fair_scheduling.js';
import * as m0012 from './0012_job_admission.js';
import * as m0013 from './0013_job_deleted_notify.js';

/**
 * Forward-only, ordered by name. Listed statically (not read from a folder) so the same
 * code runs from src under jest and from dist in production images.
 */
export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_gateway_api': m0002,
  '0003_worker_chunks': m0003,
  '0004_webhooks': m0004,
  '0005_tenant_event_horizon': m0005,
  '0006_worker_faults': m0006,
  '0007_job_language': m0007,
  '0008_words': m0008,
  '0009_enrichments': m0009,
  '0010_progress': m0010,
  '0011_fair_scheduling': m0011,
  '0012_job_admission': m0012,
  '0013_job_deleted_notify': m0013,
};
