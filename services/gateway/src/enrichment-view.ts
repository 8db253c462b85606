import type { Enrichment, EnrichmentFormat, ErrorCode } from '@transcribe/contracts';
import type { EnrichmentRow } from '@transcribe/db';
import type { LinkBases } from './job-view.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Timed kinds keep the transcript's segment timings, so they are subtitles too. */
export function formatsOf(kind: EnrichmentRow['kind']): EnrichmentFormat[] {
  return kind === 'clean' || kind === 'translate'
    ? ['txt', 'md', 'json', 'srt', 'vtt']
    : ['md', 'txt', 'json'];
}

/** The public shape of an enrichment row. */
export function toEnrichment(row: EnrichmentRow, bases: Pick<LinkBases, 'api'>): Enrichment {
  const usage =
    row.prompt_tokens > 0 || row.completion_tokens > 0
      ? { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens }
      : null;
  return {
    id: row.id,
    key: row.key,
    kind: row.kind,
    targetLanguage: row.target_language,
    status: row.status,
    progress: row.progress,
    piecesDone: row.pieces_done,
    piecesTotal: row.pieces_total,
    attempts: row.attempts,
    error:
      row.error_code !== null
        ? { code: row.error_code as ErrorCode, message: row.error_message ?? '' }
        : null,
    model: row.model,
    promptVersion: row.prompt_version,
    usage,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    processingMs:
      row.started_at && row.finished_at
        ? row.finished_at.getTime() - row.started_at.getTime()
        : null,
    formats: formatsOf(row.kind),
    links: { self: `${bases.api}/v1/jobs/${row.job_id}/enrichments/${row.key}` },
  };
}
