import { ensureChunkPlan, storeChunkResult, type Db, type JobRow } from '@transcribe/db';
import type { ChunkStore } from './pipeline.js';

/**
 * Chunk results in Postgres (job_chunks), written as each chunk finishes and guarded by
 * the job's attempt: readable while the job runs, and where a retry resumes from.
 */
export function dbChunkStore(db: Db, job: Pick<JobRow, 'id' | 'attempts'>): ChunkStore {
  return {
    async plan(proposed) {
      const chunks = await ensureChunkPlan(db, job.id, proposed);
      return chunks.map((c) => ({
        index: c.index,
        startS: c.startS,
        endS: c.endS,
        done: c.done,
        text: c.text,
        segments: c.segments,
        words: c.words,
        model: c.model,
      }));
    },
    save: (index, result) =>
      storeChunkResult(db, { jobId: job.id, index, attempt: job.attempts, ...result }),
  };
}
