// One line saying where a job is, from its view or its latest event: queue position and
// expected start while queued, stage/percent/audio seconds/ETA/attempt while processing.
import { formatClock, formatEta } from './dom.js';
import type { Job, JobEvent } from './types.js';

export function queuedText(position?: number | null, startAt?: string | null): string {
  const parts = ['queued'];
  if (position !== null && position !== undefined) {
    parts.push(position === 0 ? 'next in line' : `${position} ahead`);
  }
  if (startAt) parts.push(`starts about ${new Date(startAt).toLocaleTimeString()}`);
  return parts.join(', ');
}

export function jobText(job: Job): string {
  if (job.status === 'queued') return queuedText(job.queuePosition, job.estimatedStartAt);
  if (job.status === 'processing') {
    const parts = [`${job.stage ?? 'processing'} ${Math.round(job.progress)}%`];
    if (job.audioDoneS !== null && job.audioDoneS !== undefined && job.durationS) {
      parts.push(`${formatClock(job.audioDoneS)} of ${formatClock(job.durationS)}`);
    }
    const eta = formatEta(job.etaS);
    if (eta) parts.push(eta);
    if (job.attempts > 1) parts.push(`attempt ${job.attempts}`);
    if (job.stalledSinceS) parts.push(`no progress for ${Math.round(job.stalledSinceS)} s`);
    return parts.join(', ');
  }
  if (job.status === 'failed' && job.error)
    return `failed: ${job.error.code}: ${job.error.message}`;
  if (job.status === 'completed') return completedText(job.durationS, job.processingMs);
  return job.status;
}

export function completedText(
  durationS: number | null | undefined,
  processingMs: number | null | undefined,
): string {
  const audio = durationS ? `${durationS.toFixed(1)} s of audio` : 'done';
  return processingMs
    ? `completed: ${audio} in ${(processingMs / 1000).toFixed(1)} s`
    : `completed: ${audio}`;
}

/** The line for a job event, or undefined when the event says nothing about the job's state. */
export function eventText(event: JobEvent, etaS: number | undefined): string | undefined {
  switch (event.type) {
    case 'queued':
      return 'queued';
    case 'position':
      return queuedText(event.position, event.estimatedStartAt);
    case 'processing':
      return event.attempt && event.attempt > 1
        ? `processing (attempt ${event.attempt})`
        : 'processing';
    case 'progress': {
      const parts = [`${event.stage ?? 'processing'} ${Math.round(event.progress ?? 0)}%`];
      if (event.audioDoneS !== undefined && event.audioTotalS) {
        parts.push(`${formatClock(event.audioDoneS)} of ${formatClock(event.audioTotalS)}`);
      }
      const eta = formatEta(event.etaS ?? etaS);
      if (eta) parts.push(eta);
      if (event.attempt && event.attempt > 1) parts.push(`attempt ${event.attempt}`);
      return parts.join(', ');
    }
    case 'completed':
      return completedText(event.durationS, event.processingMs);
    case 'failed':
      return event.error ? `failed: ${event.error.code}: ${event.error.message}` : 'failed';
    case 'canceled':
      return 'canceled';
    default:
      return undefined;
  }
}
