import type { Job, JobEvent } from '@transcribe/client';

/** Where the CLI writes: process.stdout/stderr, or any writable in tests. */
export type Output = NodeJS.WritableStream & { isTTY?: boolean };

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A duration to wait, coarsely (`~40 s`, `~3 min`, `~1.5 h`): an estimate shown to the
 * second would change on every event without saying more.
 */
export function formatEta(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 60) return `~${Math.max(5, Math.round(s / 5) * 5)} s`;
  if (s < 3600) return `~${Math.round(s / 60)} min`;
  return `~${(s / 3600).toFixed(1)} h`;
}

/** One human line per event, e.g. `transcribing 60%, ~2 min left`. */
export function describeEvent(event: JobEvent): string {
  switch (event.type) {
    case 'queued':
      return 'queued';
    case 'processing':
      return event.attempt > 1 ? `processing (attempt ${event.attempt})` : 'processing';
    case 'progress': {
      const attempt = event.attempt && event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
      const eta = event.etaS !== undefined ? `, ${formatEta(event.etaS)} left` : '';
      return `${event.stage} ${Math.round(event.progress)}%${eta}${attempt}`;
    }
    case 'position': {
      const place = event.position === 0 ? 'next in queue' : `queued, ${event.position} ahead`;
      return event.estimatedStartAt
        ? `${place}, starts in ${formatEta((Date.parse(event.estimatedStartAt) - Date.now()) / 1000)}`
        : place;
    }
    case 'partial':
      return `chunk ${event.index + 1} ready (${event.startS.toFixed(0)}–${event.endS.toFixed(0)} s)`;
    case 'completed':
      return `completed in ${(event.processingMs / 1000).toFixed(1)} s`;
    case 'failed':
      return `failed: ${event.error.code}: ${event.error.message}`;
    case 'canceled':
      return 'canceled';
    case 'enrichment.queued':
      return `${event.enrichment.key}: queued`;
    case 'enrichment.processing':
      return `${event.enrichment.key}: processing${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
    case 'enrichment.progress':
      return `${event.enrichment.key}: ${Math.round(event.progress)}% (${event.piecesDone}/${event.piecesTotal} pieces)`;
    case 'enrichment.completed':
      return `${event.enrichment.key}: completed in ${(event.processingMs / 1000).toFixed(1)} s`;
    case 'enrichment.failed':
      return `${event.enrichment.key}: failed: ${event.error.code}: ${event.error.message}`;
    case 'enrichment.canceled':
      return `${event.enrichment.key}: canceled`;
  }
}

/** `transcribe status` in text form. */
export function describeJob(job: Job): string {
  const rows: [string, string][] = [
    ['id', job.id],
    ['status', job.status],
    ['progress', `${Math.round(job.progress)}%${job.stage ? ` (${job.stage})` : ''}`],
    ['file', `${job.filename} (${formatBytes(job.sizeBytes)}, ${job.contentType})`],
    ['language', describeLanguage(job)],
    ['engine', job.model ? `${job.engine} (${job.model})` : job.engine],
    ['priority', job.priority],
    ['created', job.createdAt],
  ];
  if (job.status === 'processing' && job.etaS !== null) rows.push(['eta', formatEta(job.etaS)]);
  if (job.stalledSinceS !== null) rows.push(['stalled', `no progress for ${job.stalledSinceS} s`]);
  if (job.queuePosition !== null) {
    const start = job.estimatedStartAt ? `, expected to start ${job.estimatedStartAt}` : '';
    rows.push(['queue', `${job.queuePosition} ahead${start}`]);
  }
  if (job.durationS !== null) rows.push(['duration', `${job.durationS.toFixed(1)} s`]);
  if (job.startedAt) rows.push(['started', job.startedAt]);
  if (job.finishedAt) rows.push(['finished', job.finishedAt]);
  if (job.processingMs !== null)
    rows.push(['processing', `${(job.processingMs / 1000).toFixed(1)} s`]);
  if (job.error) rows.push(['error', `${job.error.code}: ${job.error.message}`]);
  // `summary completed, translate:de 40%, notes failed (engine_failed)`
  if (job.enrichments.length > 0)
    rows.push(['enrich', job.enrichments.map(describeEnrichment).join(', ')]);
  return rows.map(([k, v]) => `${k.padEnd(10)} ${v}\n`).join('');
}

/** One enrichment in a word or two: its status, its progress while it runs, its error code. */
export function describeEnrichment(e: Job['enrichments'][number]): string {
  if (e.status === 'processing') return `${e.key} ${Math.round(e.progress)}%`;
  return `${e.key} ${e.status}${e.error ? ` (${e.error.code})` : ''}`;
}

/** `en`; `en (detected, asked auto)`; `auto (to be detected)` while detection is pending. */
export function describeLanguage(
  job: Pick<Job, 'language' | 'requestedLanguage' | 'languageSource'>,
): string {
  if (job.languageSource === null) return `${job.language} (to be detected)`;
  if (job.languageSource === 'requested') return job.language;
  return `${job.language} (${job.languageSource}, asked ${job.requestedLanguage})`;
}

/** Rows as left-aligned columns two spaces apart; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
