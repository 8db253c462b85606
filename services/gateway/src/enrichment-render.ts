import {
  EnrichmentResult,
  type EnrichmentFormat,
  type EnrichmentJson,
  type Segment,
} from '@transcribe/contracts';
import type { EnrichmentRow } from '@transcribe/db';
import { toEnrichment, formatsOf } from './enrichment-view.js';
import type { LinkBases } from './job-view.js';
import { toSrt, toVtt } from './subtitles.js';

/** What `GET /v1/jobs/:id/enrichments/:key` serves when no format is asked for. */
export function defaultFormatOf(kind: EnrichmentRow['kind']): EnrichmentFormat {
  return kind === 'summary' || kind === 'notes' ? 'md' : 'txt';
}

export const CONTENT_TYPES: Record<EnrichmentFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** Timed segments cut into paragraphs at `paragraphStarts` (index 0 always opens one). */
export function paragraphsOf(segments: readonly Segment[], starts: readonly number[]): Segment[][] {
  const opens = new Set([0, ...starts]);
  const paragraphs: Segment[][] = [];
  segments.forEach((segment, i) => {
    if (opens.has(i) || paragraphs.length === 0) paragraphs.push([]);
    paragraphs.at(-1)!.push(segment);
  });
  return paragraphs;
}

/** A paragraph's text, led by its speaker's label when the transcript was diarized. */
function paragraphText(paragraph: readonly Segment[], label: (speaker: string) => string): string {
  const text = paragraph
    .map((s) => s.text.trim())
    .filter(Boolean)
    .join(' ');
  const speaker = paragraph[0]?.speaker;
  return speaker === undefined ? text : `${label(speaker)}${text}`;
}

function timedText(result: Extract<EnrichmentResult, { shape: 'timed' }>, format: 'md' | 'txt') {
  const label = format === 'md' ? (s: string) => `**${s}:** ` : (s: string) => `${s}: `;
  return paragraphsOf(result.segments, result.paragraphStarts)
    .map((p) => paragraphText(p, label))
    .filter(Boolean)
    .join('\n\n');
}

/**
 * A completed enrichment in one of its formats (the caller checked `formatsOf`). The
 * stored plain text is the txt view; markdown kinds serve their markdown as md, timed
 * kinds their paragraphs, and srt/vtt go through the transcript's subtitle writer.
 */
export function renderEnrichment(
  row: EnrichmentRow,
  format: EnrichmentFormat,
  bases: Pick<LinkBases, 'api'>,
): string | EnrichmentJson {
  const result = EnrichmentResult.parse(row.result);
  const plain = () =>
    row.text ?? (result.shape === 'timed' ? timedText(result, 'txt') : result.markdown);
  if (format === 'json') {
    return { ...toEnrichment(row, bases), jobId: row.job_id, text: plain(), result };
  }
  if (format === 'txt') return withNewline(plain());
  if (result.shape === 'markdown') return withNewline(result.markdown);
  if (format === 'md') return withNewline(timedText(result, 'md'));
  return format === 'srt' ? toSrt(result.segments) : toVtt(result.segments);
}

const withNewline = (text: string) => (text && !text.endsWith('\n') ? `${text}\n` : text);

export { formatsOf };
