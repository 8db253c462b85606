import type { Segment, Word } from '@transcribe/contracts';
import { renameSpeakers } from './speakers.js';

/** What stitching needs of a chunk: its result, once it has one (`text` null before). */
export interface ChunkResult {
  text: string | null;
  segments: Segment[];
  /** Absent or empty when the engine gave no word timings. */
  words?: Word[];
  model: string | null;
}

/**
 * One transcript out of chunks in recording order: the chunks' texts trimmed and joined
 * by single spaces (engines pad their text; the chunk border is a word border), their
 * segments and words concatenated (already in absolute time), speakers renamed across
 * the chunks (speakers.ts), and the model of the last chunk that named one. The finished
 * job, the last fanned-out chunk and the partial transcript all stitch here, so a partial
 * transcript reads as the start of the final one (speaker names included: they go by
 * first appearance).
 */
export function stitchChunks(chunks: readonly ChunkResult[]): {
  text: string;
  segments: Segment[];
  words: Word[];
  model: string | null;
} {
  return {
    text: chunks
      .map((c) => (c.text ?? '').trim())
      .filter(Boolean)
      .join(' '),
    segments: renameSpeakers(chunks.flatMap((c) => c.segments)),
    words: chunks.flatMap((c) => c.words ?? []),
    model: chunks.findLast((c) => c.model !== null)?.model ?? null,
  };
}
