import type { Job } from '@transcribe/contracts';
import type { EnrichmentRow, JobRow } from '@transcribe/db';
import { toEnrichment } from './enrichment-view.js';

export interface LinkBases {
  /** Base URL of the gateway as clients see it. */
  api: string;
  /** Base WebSocket URL of the notifier. */
  events: string;
}

/**
 * The job's language fields: rows made before migration 0007 lack the resolved columns,
 * and had what they asked for unless that was `auto`.
 */
export function languageView(
  row: Pick<JobRow, 'language' | 'resolved_language' | 'language_source'>,
): Pick<Job, 'language' | 'requestedLanguage' | 'languageSource'> {
  return {
    language: row.resolved_language ?? row.language,
    requestedLanguage: row.language,
    languageSource: row.language_source ?? (row.language === 'auto' ? null : 'requested'),
  };
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * What the progress fields need beyond the row (issue 16): the clock, the stall bound
 * and, for a queued job, its place (packages/jobs queuePositions, loaded by the caller).
 */
export interface LiveContext {
  now: Date;
  stallAfterS: number;
  place?: { position: number; estimatedStartAt: Date | null };
}

/** Seconds since a processing job's progress last moved, once past the stall bound. */
export function stalledSinceS(
  row: Pick<JobRow, 'status' | 'progress_moved_at' | 'started_at'>,
  live: Pick<LiveContext, 'now' | 'stallAfterS'>,
): number | null {
  if (row.status !== 'processing') return null;
  const since = row.progress_moved_at ?? row.started_at;
  if (!since) return null;
  const s = (live.now.getTime() - since.getTime()) / 1000;
  return s > live.stallAfterS ? Math.round(s) : null;
}

/** The public shape of a job row, with its enrichments (listEnrichments). */
export function toJob(
  row: JobRow,
  bases: LinkBases,
  enrichments: readonly EnrichmentRow[] = [],
  live?: LiveContext,
): Job {
  const running = row.status === 'processing';
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    stage: row.stage,
    filename: row.filename,
    contentType: row.content_type,
    sizeBytes: row.size_bytes,
    durationS: row.duration_s,
    ...languageView(row),
    engine: row.engine,
    model: row.model,
    priority: row.priority,
    metadata: row.metadata,
    webhookUrl: row.webhook_url,
    attempts: row.attempts,
    error:
      row.error_code !== null
        ? {
            code: row.error_code as NonNullable<Job['error']>['code'],
            message: row.error_message ?? '',
          }
        : null,
    processingMs: row.processing_ms,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    audioDoneS:
      running || row.status === 'completed'
        ? row.status === 'completed'
          ? (row.audio_total_s ?? row.duration_s ?? row.audio_done_s)
          : row.audio_done_s
        : null,
    etaS: running ? row.eta_s : null,
    stalledSinceS: live ? stalledSinceS(row, live) : null,
    queuePosition: row.status === 'queued' ? (live?.place?.position ?? null) : null,
    estimatedStartAt: row.status === 'queued' ? iso(live?.place?.estimatedStartAt ?? null) : null,
    enrichments: enrichments.map((e) => toEnrichment(e, bases)),
    links: {
      self: `${bases.api}/v1/jobs/${row.id}`,
      transcript: `${bases.api}/v1/jobs/${row.id}/transcript`,
      events: `${bases.events}/v1/events?jobId=${row.id}`,
    },
  };
}
