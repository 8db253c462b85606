// whisper.cpp gives word timings only one way through @fugood/whisper.node: token
// timestamps with `maxLen: 1`, which cuts every decoded segment into one piece per text
// token (`splitOnWord` and token probabilities are not exposed by the binding). This puts
// the pieces back together: tokens into words (a token not opening with a space carries
// on the word before it), and the pieces of one decoded segment into that segment again.
import type { EngineSegment, EngineWord } from './engine.js';

/** A segment as the binding gives it: `t0`/`t1` in milliseconds. */
export interface WhisperPiece {
  text: string;
  t0: number;
  t1: number;
}

/**
 * `pieces` in order, and how many pieces each decoded segment was cut into (the `nNew` of
 * each new-segment callback). When the counts do not add up to the pieces (a binding
 * that reports differently), every piece stays its own group rather than guessing.
 */
export function joinWhisperPieces(
  pieces: readonly WhisperPiece[],
  groupSizes: readonly number[],
): { segments: EngineSegment[]; words: EngineWord[] } {
  const sizes =
    groupSizes.reduce((a, b) => a + b, 0) === pieces.length && groupSizes.every((n) => n > 0)
      ? groupSizes
      : pieces.map(() => 1);
  const segments: EngineSegment[] = [];
  const words: EngineWord[] = [];
  let at = 0;
  for (const size of sizes) {
    const group = pieces.slice(at, at + size);
    at += size;
    const groupWords = toWords(group);
    const first = groupWords[0];
    const last = groupWords.at(-1);
    if (!first || !last) continue;
    words.push(...groupWords);
    segments.push({
      start: first.start,
      end: last.end,
      text: groupWords.map((w) => w.word).join(' '),
    });
  }
  return { segments, words };
}

function toWords(pieces: readonly WhisperPiece[]): EngineWord[] {
  const words: EngineWord[] = [];
  let current: EngineWord | undefined;
  for (const piece of pieces) {
    const text = piece.text.trim();
    if (!text) continue;
    const start = piece.t0 / 1000;
    const end = Math.max(start, piece.t1 / 1000);
    if (current && !/^\s/.test(piece.text)) {
      current.word += text;
      current.end = Math.max(current.end, end);
      continue;
    }
    current = { word: text, start, end };
    words.push(current);
  }
  return words;
}
