import { z } from 'zod';
import { Uuid } from './jobs.js';

/**
 * Body of a `transcribe.jobs` message, version 1. The message only points at the job:
 * Postgres holds the job's state, so a stale or duplicated message can never carry
 * stale options.
 */
export const TranscribeMessage = z.object({
  v: z.literal(1),
  jobId: Uuid,
  tenantId: Uuid,
});
export type TranscribeMessage = z.infer<typeof TranscribeMessage>;
