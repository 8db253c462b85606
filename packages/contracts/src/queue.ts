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

/**
 * A `transcribe.jobs` message for one chunk of a long recording that its job fanned out
 * to the worker pool, version 1. `attempt` is the job attempt that published it: a
 * message from an earlier attempt (the job was since retried) is dropped.
 */
export const ChunkMessage = z.object({
  v: z.literal(1),
  type: z.literal('chunk'),
  jobId: Uuid,
  tenantId: Uuid,
  index: z.number().int().nonnegative(),
  attempt: z.number().int().positive(),
});
export type ChunkMessage = z.infer<typeof ChunkMessage>;

/** Anything on `transcribe.jobs`; chunk messages first, since a job message has no `type`. */
export const JobsQueueMessage = z.union([
  ChunkMessage,
  // A malformed chunk message must not pass for a job message.
  TranscribeMessage.extend({ type: z.undefined().optional() }),
]);
export type JobsQueueMessage = z.infer<typeof JobsQueueMessage>;
