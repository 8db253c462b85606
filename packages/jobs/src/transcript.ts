import type { Segment } from '@transcribe/contracts';

/** What stitching needs of a chunk: its result, once it has one (`text` null before). */
export interface ChunkResult {
  text: string | null;
  segments: Segment[];
  model: string | null;
}

/**
 * One transcript out of chunks in recording order: the chunks' texts trimmed and joined
 * by single spaces (engines pad their text; the chunk border is a word border), their
 * segments concatenated (already in absolute time), and the model of the last chunk that
 * named one. The finished job, the last fanned-out chunk and the partial transcript all
 * stitch here, so a partial transcript reads as the start of the final one.
 */
export function stitchChunks(chunks: readonly ChunkResult[]): {
  text: string;
  segments: Segment[];
  model: string | null;
} {
  return {
    text: chunks
      .map((c) => (c.text ?? '').trim())
      .filter(Boolean)
      .join(' '),
    segments: chunks.flatMap((c) => c.segments),
    model: chunks.findLast((c) => c.model !== null)?.model ?? null,
  };
}
