// Where to cut a long recording: into equal chunks of at most about `chunkS` seconds,
// each cut moved into a nearby silence when there is one, so no word is split between
// two engine calls.
import type { Segment, Word } from '@transcribe/contracts';
import type { EngineSegment, EngineWord } from './engines/engine.js';

export interface Silence {
  startS: number;
  endS: number;
}

export interface ChunkSpan {
  startS: number;
  endS: number;
}

export interface ChunkPlanOptions {
  /** Target chunk length. */
  chunkS: number;
  /** A silence within this distance of the target boundary is used instead of the target. */
  windowS: number;
  /**
   * A recording longer than one chunk is cut into at least this many (when fanned out,
   * so that a mid-length recording still spreads over the worker pool), none shorter
   * than `minChunkS`.
   */
  minCount?: number;
  /** Shortest chunk `minCount` may ask for (default 30 s). */
  minChunkS?: number;
}

/** How far inside a silence to cut, so the cut never lands on a word's first or last sample. */
const EDGE_S = 0.1;

/**
 * Splits `[0, durationS]` into spans of equal length, as few as keep each within about
 * `chunkS` (a recording up to `chunkS` + `windowS` stays whole), or `minCount`. Equal spans, not
 * `chunkS`-long ones and a leftover, because fanned-out chunks run side by side: the job
 * ends with its slowest worker, so no chunk should be much longer than the others, and
 * a short leftover would only pay a chunk's overhead for little audio. Each boundary is
 * the point of a detected silence nearest to its target, if one lies within `windowS`;
 * otherwise the target itself. After each cut the rest is shared out again, so a cut
 * moved into a pause does not pile up on the last chunk.
 */
export function planChunks(
  durationS: number,
  silences: readonly Silence[],
  opts: ChunkPlanOptions,
): ChunkSpan[] {
  const chunkS = opts.chunkS;
  // A window as wide as the chunk could move a cut back to where the chunk started.
  const windowS = Math.min(opts.windowS, chunkS / 2);
  let count = Math.max(1, Math.ceil((durationS - windowS) / chunkS));
  if (count > 1 && opts.minCount) {
    const most = Math.floor(durationS / (opts.minChunkS ?? 30));
    count = Math.max(count, Math.min(opts.minCount, most));
  }
  const spans: ChunkSpan[] = [];
  let start = 0;
  for (let left = count; left > 1; left--) {
    const target = start + (durationS - start) / left;
    const window = Math.min(windowS, (target - start) / 2);
    const cut = nearestSilencePoint(silences, target, window) ?? target;
    spans.push({ startS: start, endS: cut });
    start = cut;
  }
  spans.push({ startS: start, endS: durationS });
  return spans;
}

function nearestSilencePoint(
  silences: readonly Silence[],
  target: number,
  windowS: number,
): number | undefined {
  let best: number | undefined;
  for (const s of silences) {
    if (s.endS < target - windowS - EDGE_S || s.startS > target + windowS + EDGE_S) continue;
    const margin = Math.min(EDGE_S, (s.endS - s.startS) / 2);
    const point = Math.min(Math.max(target, s.startS + margin), s.endS - margin);
    if (Math.abs(point - target) > windowS) continue;
    if (best === undefined || Math.abs(point - target) < Math.abs(best - target)) best = point;
  }
  return best;
}

/** Engine segments of a chunk, moved to the recording's time line and kept inside the chunk. */
export function offsetSegments(segments: readonly EngineSegment[], span: ChunkSpan): Segment[] {
  return segments.map((s) => ({
    ...toSpan(s, span),
    text: s.text,
    ...(s.speaker !== undefined ? { speaker: s.speaker } : {}),
  }));
}

/** Engine words of a chunk, moved like its segments (so they stay inside them). */
export function offsetWords(words: readonly EngineWord[], span: ChunkSpan): Word[] {
  return words.map((w) => ({
    ...toSpan(w, span),
    word: w.word,
    ...(w.confidence !== undefined ? { confidence: w.confidence } : {}),
  }));
}

function toSpan(t: { start: number; end: number }, span: ChunkSpan) {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const start = round(Math.min(span.endS, span.startS + Math.max(0, t.start)));
  const end = round(Math.min(span.endS, Math.max(start, span.startS + t.end)));
  return { start, end };
}
