// The pure part of enrichments: how a transcript is cut into pieces that fit the model's
// context, how a timed answer is read back onto the segments, how partial markdown is
// combined in rounds that fit, and how the final result is stitched. No I/O here.
import type { EnrichmentKind, EnrichmentResult, Segment } from '@transcribe/contracts';
import { PARAGRAPH_MARK, systemTokens, type EnrichTask } from './prompts.js';

/** Token estimate: ≈ 4 characters a token for Latin-script text, rounded up. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** `[123] ` and the newline around each data line. */
export const LINE_OVERHEAD_TOKENS = 3;
/** Room for the chat template's own tokens (role markers) and estimate error. */
export const SAFETY_TOKENS = 64;
/** Output tokens per input token of the timed kinds: a clean-up keeps length, a translation may grow. */
export const TIMED_OUTPUT_RATIO: Record<'clean' | 'translate', number> = {
  clean: 1.1,
  translate: 1.5,
};
/** Hard cap on one stored result's characters (markdown, or each timed text), whatever the model said. */
export const MAX_RESULT_CHARS = 400_000;
/** The smallest piece budget: below it nothing useful fits. */
const MIN_INPUT_TOKENS = 16;

export interface Budget {
  /** Largest data (user message) of one request, in estimated tokens. */
  inputTokens: number;
  /** `max_tokens` of every request. */
  outputTokens: number;
}

export const isTimed = (kind: EnrichmentKind): kind is 'clean' | 'translate' =>
  kind === 'clean' || kind === 'translate';

/**
 * What one request may carry. The context holds the system message, the data and the
 * answer: `available = context − system − safety`. A timed kind answers about as much as
 * it reads (× ratio), so the data gets `available / (1 + ratio)` and never more than
 * `maxOutput / ratio`; summary and notes answer short, so the answer keeps a quarter of
 * `available` (at most `maxOutput`) and the data the rest. `pieceTokens` caps the data
 * further (an operator's choice, or a test forcing many pieces).
 */
export function pieceBudget(
  kind: EnrichTask,
  settings: { contextTokens: number; maxOutputTokens: number; pieceTokens?: number },
): Budget {
  const available = Math.max(
    2 * MIN_INPUT_TOKENS,
    settings.contextTokens - systemTokens(kind, estimateTokens) - SAFETY_TOKENS,
  );
  let inputTokens: number;
  let outputTokens: number;
  if (isTimed(kind)) {
    const ratio = TIMED_OUTPUT_RATIO[kind];
    inputTokens = Math.floor(Math.min(available / (1 + ratio), settings.maxOutputTokens / ratio));
    outputTokens = Math.min(settings.maxOutputTokens, available - inputTokens);
  } else {
    outputTokens = Math.min(settings.maxOutputTokens, Math.floor(available / 4));
    inputTokens = available - outputTokens;
  }
  if (settings.pieceTokens) inputTokens = Math.min(inputTokens, settings.pieceTokens);
  return { inputTokens: Math.max(MIN_INPUT_TOKENS, inputTokens), outputTokens };
}

export interface PiecePlan {
  index: number;
  firstSegment: number;
  lastSegment: number;
}

const segmentTokens = (segment: Pick<Segment, 'text'>) =>
  estimateTokens(segment.text) + LINE_OVERHEAD_TOKENS;

/**
 * Consecutive segments, cut on segment boundaries into pieces of at most `inputTokens`.
 * A segment over the budget alone is a piece of its own (its text is truncated in the
 * prompt, see maxLineChars).
 */
export function planPieces(
  segments: readonly Pick<Segment, 'text'>[],
  inputTokens: number,
): PiecePlan[] {
  const pieces: PiecePlan[] = [];
  let first = 0;
  let used = 0;
  segments.forEach((segment, i) => {
    const cost = segmentTokens(segment);
    if (i > first && used + cost > inputTokens) {
      pieces.push({ index: pieces.length, firstSegment: first, lastSegment: i - 1 });
      first = i;
      used = 0;
    }
    used += cost;
  });
  if (segments.length > 0) {
    pieces.push({ index: pieces.length, firstSegment: first, lastSegment: segments.length - 1 });
  }
  return pieces;
}

/** Characters one data line may keep: the whole budget, less the line's own overhead. */
export const maxLineChars = (inputTokens: number) =>
  Math.max(16, (inputTokens - LINE_OVERHEAD_TOKENS) * 4);

/** A piece's stored output for a timed kind: one text per segment of the piece. */
export interface TimedPieceOutput {
  texts: string[];
  /** Absolute segment indexes that open a paragraph. */
  paragraphStarts: number[];
  /** Segments the model left out (clean keeps their source text). */
  missing: number[];
}

export interface MarkdownPieceOutput {
  markdown: string;
}

/** The model's answer cannot be used (a translation that lost lines); retried. */
export class PieceOutputError extends Error {
  override readonly name = 'PieceOutputError';
}

const ANSWER_LINE = /^\s*\[(\d+)\]\s?(.*)$/;

/**
 * Reads `[n] text` lines back onto segments `first..last`. Ids outside the piece and
 * repeated ids are ignored; an unnumbered line continues the line before it (a model
 * that wrapped). A missing line keeps the source text for `clean` (it was readable
 * enough to transcribe) and fails the piece for `translate` (a silent hole in a
 * translation is worse than a retry).
 */
export function parseTimedAnswer(
  kind: 'clean' | 'translate',
  answer: string,
  source: readonly Pick<Segment, 'text'>[],
  first: number,
): TimedPieceOutput {
  const last = first + source.length - 1;
  const texts = new Map<number, string>();
  const starts = new Set<number>();
  let current: number | undefined;
  for (const line of answer.split('\n')) {
    const match = ANSWER_LINE.exec(line);
    if (match) {
      const id = Number(match[1]);
      if (id < first || id > last || texts.has(id)) {
        current = undefined;
        continue;
      }
      let text = match[2]!.trim();
      if (text.startsWith(PARAGRAPH_MARK)) {
        starts.add(id);
        text = text.slice(PARAGRAPH_MARK.length).trim();
      }
      texts.set(id, text);
      current = id;
    } else if (current !== undefined && line.trim()) {
      texts.set(current, `${texts.get(current)} ${line.trim()}`.trim());
    }
  }
  const missing: number[] = [];
  const out = source.map((segment, i) => {
    const text = texts.get(first + i);
    if (text !== undefined) return text.slice(0, MAX_RESULT_CHARS);
    missing.push(first + i);
    return segment.text.trim();
  });
  if (kind === 'translate' && missing.length > 0) {
    throw new PieceOutputError(
      `the translation left out ${missing.length} of ${source.length} lines (first: ${missing[0]})`,
    );
  }
  return { texts: out, paragraphStarts: [...starts].sort((a, b) => a - b), missing };
}

/** Bounds a markdown answer (the model's, or a combination) to what is stored. */
export function boundMarkdown(markdown: string): string {
  return markdown.trim().slice(0, MAX_RESULT_CHARS);
}

/**
 * One round of the reduce: consecutive partials grouped so each group's data fits
 * `inputTokens`. Each partial is first cut to half the budget so every group holds at
 * least two and the rounds always converge.
 */
export function groupPartials(partials: readonly string[], inputTokens: number): string[][] {
  const cap = Math.max(16, Math.floor(inputTokens / 2) - LINE_OVERHEAD_TOKENS) * 4;
  const groups: string[][] = [];
  let group: string[] = [];
  let used = 0;
  for (const partial of partials.map((p) => p.slice(0, cap))) {
    const cost = estimateTokens(partial) + LINE_OVERHEAD_TOKENS * 2;
    if (group.length >= 2 && used + cost > inputTokens) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(partial);
    used += cost;
  }
  if (group.length > 0) groups.push(group);
  // A lone last partial joins the group before it rather than being "reduced" alone.
  if (groups.length > 1 && groups.at(-1)!.length === 1) groups.at(-2)!.push(...groups.pop()!);
  return groups;
}

/**
 * The timed result: the transcript's segments (timings, speakers) with the pieces'
 * texts, and the paragraph starts (the first segment always opens one).
 */
export function stitchTimed(
  segments: readonly Segment[],
  pieces: readonly { firstSegment: number; output: TimedPieceOutput }[],
): { result: Extract<EnrichmentResult, { shape: 'timed' }>; text: string } {
  const texts = segments.map((s) => s.text.trim());
  const starts = new Set<number>();
  for (const piece of pieces) {
    piece.output.texts.forEach((text, i) => {
      if (piece.firstSegment + i < texts.length) texts[piece.firstSegment + i] = text;
    });
    piece.output.paragraphStarts.forEach((s) => starts.add(s));
  }
  if (segments.length > 0) starts.add(0);
  const paragraphStarts = [...starts].filter((s) => s < segments.length).sort((a, b) => a - b);
  const out = segments.map((segment, i) => ({ ...segment, text: texts[i]! }));
  const paragraphs = paragraphStarts.map((start, p) =>
    texts
      .slice(start, paragraphStarts[p + 1] ?? texts.length)
      .filter(Boolean)
      .join(' '),
  );
  return {
    result: { shape: 'timed', segments: out, paragraphStarts },
    text: paragraphs.join('\n\n').slice(0, MAX_RESULT_CHARS),
  };
}
