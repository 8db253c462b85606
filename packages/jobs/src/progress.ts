// Issue 16: a job's progress, wherever its chunks run. Every worker that works on the job
// (the one that claimed it, and each fanned-out chunk's) writes through `applyProgress`
// under the job's row lock: its chunk's own figure (job_chunks.done_s), then the job's,
// derived from the sum over all chunks; the ETA from this attempt's measured throughput;
// and whether this write is also an event (paced by a timestamp on the row, so at most
// ~2 per second per job across all its workers, however many there are).
import {
  appendJobEvent,
  lockJobForProgress,
  listChunkProgress,
  setChunkDone,
  type ChunkProgressRow,
  writeJobProgress,
  type Db,
  type JobRow,
} from '@transcribe/db';

/** The stages in the order a job goes through them; a late report never moves a job back. */
export const STAGE_ORDER = [
  'downloading',
  'probing',
  'normalizing',
  'splitting',
  'transcribing',
] as const;

/** Progress events of one job are at least this far apart, across all its workers (≈ 2/s). */
export const MIN_EVENT_GAP_MS = 450;

/** Where transcription sits on the 0–100 scale (pipeline.ts's STAGES). */
const TRANSCRIBING_FROM = 10;
const TRANSCRIBING_SPAN = 88;

const rank = (stage: string | null) => STAGE_ORDER.indexOf(stage as (typeof STAGE_ORDER)[number]);

/**
 * Seconds left, single stream: remaining audio over this attempt's measured throughput
 * (audio seconds done since the first audio of the attempt was decoded, over the wall
 * seconds from then to the figure's last move), less the time since that move. Null until
 * there are `minElapsedS` seconds of measurement and some audio done. Not smoothed: the rate
 * is measured over everything since the first audio, so each report refines it, and
 * between reports the estimate counts down by the time since the move. (An average with
 * the previous estimates carried the first, poorly measured ones of a short recording to
 * its half-way point: +61 % at 50 % of a one-minute recording, `pnpm bench:eta`.)
 */
export function estimateEtaS(input: {
  doneS: number;
  baseS: number;
  totalS: number;
  /** Wall seconds from the start of the measurement to the figure's last move. */
  elapsedS: number;
  /** Wall seconds since that move: already spent on what is left. */
  sinceMoveS?: number;
  minElapsedS?: number;
}): number | null {
  const measured = input.doneS - input.baseS;
  if (input.elapsedS < (input.minElapsedS ?? 1) || measured <= 0) return null;
  const rate = measured / input.elapsedS;
  const left = Math.max(0, input.totalS - input.doneS) / rate - (input.sinceMoveS ?? 0);
  return Math.max(0, left);
}

/** The estimate blended half-and-half with the previous one, aged by the time since. */
function smooth(raw: number, previous: { etaS: number; ageS: number } | null | undefined): number {
  if (!previous) return raw;
  const aged = Math.max(0, previous.etaS - previous.ageS);
  return 0.5 * raw + 0.5 * aged;
}

/**
 * Seconds left for a job of several chunks, which run side by side on several workers.
 * Two estimates, each wrong in a known direction, and their mean:
 * - the layout: one worker's rate (audio seconds per wall second of a chunk, over every
 *   chunk begun, less the start-up each chunk pays before its first audio), and the chunks
 *   still to do laid out over as many workers as are running chunks of this job now (each
 *   running chunk's rest first, then each pending chunk, start-up included, on the worker
 *   that frees first). It holds a worker's speed constant, so it is long where workers
 *   share CPUs: the last chunks, alone, run faster than the ones measured side by side.
 * - the stream: the job's own audio per wall second since its first audio (as for one
 *   chunk), which holds the parallelism constant, so it is short when the last chunks run
 *   alone.
 * Where workers have a CPU each the layout is exact and the mean errs short by up to half
 * the tail; on shared CPUs the truth lies between them. Measured by `pnpm bench:eta`.
 * The result is blended half-and-half with the previous estimate (aged by the time since):
 * the layout moves in steps as chunks begin and end on other workers.
 * Null until some chunk has a second of measurement.
 */
export function estimateChunkedEtaS(
  chunks: readonly ChunkProgressRow[],
  now: Date,
  options: {
    previous?: { etaS: number; ageS: number } | null;
    /** The job stream's measurement (estimateEtaS's input), when its first audio is known. */
    stream?: Parameters<typeof estimateEtaS>[0] | null;
    /** When the job's first audio was decoded: start-up = that less the first chunk's start. */
    firstAudioAt?: Date | null;
  } = {},
): number | null {
  const begun = chunks.filter((c) => c.startedAt);
  const firstStart = Math.min(...begun.map((c) => c.startedAt!.getTime()));
  const startupS =
    options.firstAudioAt && begun.length > 0
      ? Math.max(0, (options.firstAudioAt.getTime() - firstStart) / 1000)
      : 0;
  let audioS = 0;
  let wallS = 0;
  for (const c of begun) {
    audioS += c.doneS;
    const w = ((c.finishedAt ?? now).getTime() - c.startedAt!.getTime()) / 1000;
    wallS += Math.max(0, w - startupS);
  }
  if (wallS < 1 || audioS <= 0) return null;
  const rate = audioS / wallS;
  const running = chunks.filter((c) => c.startedAt && !c.finishedAt);
  const slots = running.map((c) => (c.lengthS - c.doneS) / rate);
  if (slots.length === 0) slots.push(0);
  for (const c of chunks) {
    if (c.startedAt || c.finishedAt) continue;
    const first = slots.indexOf(Math.min(...slots));
    slots[first]! += startupS + c.lengthS / rate;
  }
  const layout = Math.max(...slots);
  const stream = options.stream ? estimateEtaS(options.stream) : null;
  const raw = stream === null ? layout : (layout + stream) / 2;
  return smooth(Math.max(0, raw), options.previous);
}

export interface ProgressReport {
  /** 0–100 for the stages before transcription; while transcribing it is derived from the chunks. */
  progress: number;
  stage: string;
  /** A chunk being transcribed and the seconds of it decoded so far. */
  chunk?: { index: number; doneS: number };
  leaseMs: number;
}

/**
 * One progress report under the job's row lock. `held` false: the job is not this
 * attempt's any more (the caller stops). `event` true when the write was also an event:
 * a stage change always is; otherwise one at most every MIN_EVENT_GAP_MS per job.
 * Unchanged figures are still an event (a heartbeat), so subscribers tell live from stuck.
 */
export async function applyProgress(
  trx: Db,
  job: Pick<JobRow, 'id' | 'tenant_id' | 'attempts'>,
  input: ProgressReport,
): Promise<{ held: boolean; event: boolean }> {
  const row = await lockJobForProgress(trx, job.id);
  if (row?.status !== 'processing' || row.attempts !== job.attempts) {
    return { held: false, event: false };
  }
  const now = row.db_now;
  if (input.chunk) await setChunkDone(trx, { jobId: job.id, ...input.chunk });
  // A late report of an earlier stage (the coordinator's last `splitting` after a chunk
  // worker began) keeps the later stage and figure.
  const stage = rank(input.stage) >= rank(row.stage) ? input.stage : (row.stage ?? input.stage);
  let progress = input.progress;
  let audioDoneS = row.audio_done_s;
  let audioTotalS = row.audio_total_s ?? row.duration_s;
  let etaS: number | null = row.eta_s;
  let startedAt = row.transcribing_started_at;
  let baseS = row.transcribing_base_s;
  // When the figure last moved: engines report in bursts (pocketsphinx per utterance), so
  // the single-stream rate is measured up to the last burst, and the time since is spent.
  let movedAt = row.progress_moved_at ?? now;
  if (stage === 'transcribing') {
    const chunks = await listChunkProgress(trx, job.id);
    const totalS = chunks.reduce((sum, c) => sum + c.lengthS, 0);
    if (totalS > 0) {
      const doneS = chunks.reduce((sum, c) => sum + c.doneS, 0);
      audioTotalS = totalS;
      audioDoneS = Math.max(row.audio_done_s, Math.min(doneS, totalS));
      if (audioDoneS > row.audio_done_s + 0.01) movedAt = now;
      progress = TRANSCRIBING_FROM + (TRANSCRIBING_SPAN * audioDoneS) / totalS;
    }
    if (row.stage !== 'transcribing') {
      // Entering transcription (once per attempt: a claim leaves the stage at `queued`):
      // chunks stored by an earlier attempt are not this attempt's throughput.
      baseS = audioDoneS;
      startedAt = null;
    } else if (!startedAt && audioDoneS > baseS + 0.01) {
      // The measurement starts at the first audio decoded: the engine's start-up (model
      // load, the first utterance) is a fixed cost, not a rate, and would make a short
      // job's ETA too long at every point after.
      startedAt = now;
      baseS = audioDoneS;
    }
    if (audioTotalS) {
      // The stored estimate was written with the row's last update (every progress write).
      const previous =
        row.eta_s === null
          ? null
          : {
              etaS: row.eta_s,
              ageS: Math.max(0, (now.getTime() - row.updated_at.getTime()) / 1000),
            };
      // One chunk: one stream, measured from its first audio. Several (one after another
      // in process, or side by side when fanned out): estimateChunkedEtaS.
      const stream = startedAt
        ? {
            doneS: audioDoneS,
            baseS,
            totalS: audioTotalS,
            elapsedS: (movedAt.getTime() - startedAt.getTime()) / 1000,
            sinceMoveS: (now.getTime() - movedAt.getTime()) / 1000,
          }
        : null;
      const next =
        chunks.length > 1
          ? estimateChunkedEtaS(chunks, now, { previous, stream, firstAudioAt: startedAt })
          : stream
            ? estimateEtaS(stream)
            : null;
      etaS = next === null ? null : Math.round(next * 10) / 10;
    }
  }
  progress = Math.round(Math.max(row.progress, Math.min(100, progress)) * 10) / 10;
  // The row's figures are `real` (float4): compare with a tolerance, or a value read back
  // a hair below what was written would count every heartbeat as a move.
  const moved =
    progress > row.progress + 0.05 || audioDoneS > row.audio_done_s + 0.01 || stage !== row.stage;
  const event =
    stage !== row.stage ||
    !row.progress_event_at ||
    now.getTime() - row.progress_event_at.getTime() >= MIN_EVENT_GAP_MS;
  await writeJobProgress(trx, {
    id: job.id,
    attempt: job.attempts,
    leaseMs: input.leaseMs,
    progress,
    stage,
    audioDoneS,
    audioTotalS,
    etaS,
    transcribingStartedAt: startedAt,
    transcribingBaseS: baseS,
    movedAt: moved ? now : (row.progress_moved_at ?? now),
    eventAt: event ? now : row.progress_event_at,
  });
  if (event) {
    await appendJobEvent(
      trx,
      { id: job.id, tenantId: job.tenant_id },
      {
        type: 'progress',
        progress,
        stage,
        attempt: job.attempts,
        audioDoneS: Math.round(audioDoneS * 10) / 10,
        ...(audioTotalS ? { audioTotalS: Math.round(audioTotalS * 10) / 10 } : {}),
        ...(etaS !== null && stage === 'transcribing' ? { etaS } : {}),
      },
    );
  }
  return { held: true, event };
}
