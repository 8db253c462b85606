import type { Segment, TranscriptJson, Word } from '@transcribe/contracts';
import { listJobChunks, type JobRow } from '@transcribe/db';
import { stitchChunks } from '@transcribe/jobs';
import type { GatewayDeps } from './deps.js';
import { HttpError } from './http-error.js';
import { languageView } from './job-view.js';

/**
 * A job's transcript as `GET /v1/jobs/:id/transcript` gives it in JSON; every other view
 * (txt, srt, vtt, the OpenAI-compatible formats) is made from this one.
 * `partial`: a queued or processing job gives the chunks done so far (`complete: false`).
 */
export async function loadTranscript(
  deps: Pick<GatewayDeps, 'db'>,
  job: JobRow,
  options: { partial?: boolean } = {},
): Promise<TranscriptJson> {
  let text: string;
  let segments: Segment[];
  let words: Word[];
  let complete = true;
  if (job.status === 'completed' && job.text !== null) {
    text = job.text;
    segments = (job.segments ?? []) as Segment[];
    words = (job.words ?? []) as Word[];
  } else if (options.partial && (job.status === 'processing' || job.status === 'queued')) {
    ({ text, segments, words } = stitchChunks(
      (await listJobChunks(deps.db, job.id)).filter((c) => c.done),
    ));
    complete = false;
  } else {
    throw new HttpError(409, 'job_not_completed', `job is ${job.status}`, { status: job.status });
  }
  return {
    jobId: job.id,
    text,
    segments,
    words,
    ...languageView(job),
    durationS: job.duration_s,
    engine: job.engine,
    model: job.model,
    processingMs: job.processing_ms,
    complete,
  };
}
