import { ensureChunkPlan, type Db, type JobRow } from '@transcribe/db';
import { storeChunk } from '@transcribe/jobs';
import type { ChunkStore } from './pipeline.js';

/**
 * Chunk results in Postgres (job_chunks), written as each chunk finishes and guarded by
 * the job's attempt: readable while the job runs (`?partial=true`), announced by a
 * `partial` event in the same transaction, and where a retry resumes from.
 */
export function dbChunkStore(
  db: Db,
  job: Pick<JobRow, 'id' | 'tenant_id' | 'attempts'>,
): ChunkStore {
  const spans = new Map<number, { startS: number; endS: number }>();
  return {
    async plan(proposed) {
      const chunks = await ensureChunkPlan(db, job.id, proposed);
      for (const c of chunks) spans.set(c.index, { startS: c.startS, endS: c.endS });
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
    async save(index, result) {
      const span = spans.get(index);
      if (!span) return false;
      return storeChunk(db, job, { index, ...span, ...result });
    },
  };
}
