import {
  EnrichList,
  EnrichmentKey,
  enrichmentKeyOf,
  parseEnrichmentKey,
  type EnrichmentFormat,
  type EnrichmentKind,
  type EnrichmentRequest,
  type TranscriptFormat,
} from '@transcribe/contracts';
import { UsageError } from './exit-codes.js';

/**
 * `--enrich clean,summary,notes,translate:de`: keys separated by commas, checked with the
 * contract the gateway applies (known kinds, a real language tag, each key once), so a typo
 * is exit code 2 before anything is uploaded.
 */
export function parseEnrichFlag(value: string): EnrichmentRequest[] {
  const requests = value
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
    .map((key) =>
      key.startsWith('translate:') ? { translate: key.slice('translate:'.length) } : key,
    );
  if (requests.length === 0) throw new UsageError('invalid --enrich: name at least one enrichment');
  const parsed = EnrichList.safeParse(requests);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const which =
    typeof issue?.path[0] === 'number' ? ` "${value.split(',')[issue.path[0]]?.trim()}"` : '';
  throw new UsageError(`invalid --enrich${which}: ${issue?.message ?? 'not accepted'}`);
}

/**
 * `transcribe get --enrichment <key> [--format]`: the key, and a format its kind has
 * (subtitles only for the timed kinds, clean and translate), checked before asking the API.
 */
export function checkEnrichmentRequest(
  value: string,
  format: EnrichmentFormat | undefined,
): string {
  const parsed = EnrichmentKey.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(
      `invalid --enrichment "${value}": ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const { kind } = parseEnrichmentKey(parsed.data);
  if ((format === 'srt' || format === 'vtt') && kind !== 'clean' && kind !== 'translate') {
    throw new UsageError(`--format ${format}: ${kind} has no timings; use md, txt or json`);
  }
  return parsed.data;
}

/**
 * The format an enrichment is saved in by `transcribe --enrich`: timed kinds (clean,
 * translate) follow the transcript's `--format` (txt, json, srt, vtt: subtitles of the
 * translation line up with the recording); summary and notes are markdown, or JSON with
 * `--format json`.
 */
export function enrichmentFormatFor(
  kind: EnrichmentKind,
  transcriptFormat: TranscriptFormat,
): EnrichmentFormat {
  if (kind === 'clean' || kind === 'translate') return transcriptFormat;
  return transcriptFormat === 'json' ? 'json' : 'md';
}

/** A key as a file name part: `translate:de` → `translate-de` (no `:` on Windows). */
export function enrichmentSlug(key: string): string {
  return key.replace(/:/g, '-');
}

export interface EnrichmentOutput {
  key: string;
  format: EnrichmentFormat;
}

/** What `transcribe --enrich` saves of each requested enrichment, in the order asked. */
export function enrichmentOutputs(
  enrich: readonly EnrichmentRequest[],
  transcriptFormat: TranscriptFormat,
): EnrichmentOutput[] {
  return enrich.map((request) => {
    const key = enrichmentKeyOf(request);
    return { key, format: enrichmentFormatFor(parseEnrichmentKey(key).kind, transcriptFormat) };
  });
}
