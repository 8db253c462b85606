import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Segment, Word } from '@transcribe/contracts';
import { stitchChunks } from '@transcribe/jobs';
import { ObjectNotFoundError, type Storage } from '@transcribe/storage';
import { offsetSegments, offsetWords, planChunks, type ChunkSpan } from './chunking.js';
import type { EngineSelector } from './engines/selector.js';
import { JobLostError, PermanentJobError } from './errors.js';
import { decodeForEngines } from './decode-audio.js';
import { detectSilences, extractAudio } from './media.js';

export interface PipelineInput {
  objectKey: string;
  /** Engine name from the job; empty means the worker's default. */
  engine: string;
  language: string;
  model: string | null;
}

export interface PipelineResult {
  text: string;
  segments: Segment[];
  words: Word[];
  durationS: number;
  model: string | null;
  /** How many chunks the audio was cut into, and how many this run transcribed. */
  chunks: number;
  chunksTranscribed: number;
  /**
   * Chunks handed to the worker pool instead (see FanOut). When > 0 the job is not done:
   * text and segments are empty, and the last chunk's worker completes it.
   */
  fannedOut: number;
}

/**
 * Lets a long recording's chunks be transcribed by the whole worker pool: each pending
 * chunk's WAV is uploaded, then all are dispatched at once.
 */
export interface FanOut {
  /** Fan out only when at least this many chunks are pending. */
  minChunks: number;
  /**
   * A recording longer than one chunk is cut into at least this many (never under 30 s
   * each), so that it spreads over the worker pool even when it is only a few chunks long.
   */
  spreadChunks?: number;
  upload(index: number, wavFile: string): Promise<void>;
  /** False when the job is no longer this run's. */
  dispatch(indexes: number[]): Promise<boolean>;
}

export interface PipelineDeps {
  storage: Pick<Storage, 'download'>;
  engines: EngineSelector;
  tmpDir?: string;
  maxDurationS: number;
  /** Target chunk length (default 300 s). */
  chunkS?: number;
  /** How far a cut may move from its target to land in a silence (default 20 s). */
  chunkWindowS?: number;
}

/**
 * Admission of a job's decoded audio (the tenant's daily quota) before anything is sent to
 * an engine, and for a recording longer than a clip before its WAV is written (see
 * decode-audio.ts): throws a PermanentJobError to refuse it, or JobLostError when the job
 * is no longer this run's.
 */
export type AdmitAudio = (durationS: number) => Promise<void>;

/** A chunk as stored: `done` ones carry their (absolute-time) result. */
export interface StoredChunk extends ChunkSpan {
  index: number;
  done: boolean;
  text: string | null;
  segments: Segment[];
  words: Word[];
  model: string | null;
  /** The language the engine heard in the chunk, when it says (for `auto`). */
  language?: string | null;
}

/**
 * Where chunk results live. The job handler backs it with Postgres so results are
 * readable at once and a retried attempt resumes; the default keeps them in memory.
 */
export interface ChunkStore {
  /** The plan in force: `proposed`, unless an earlier attempt already stored one. */
  plan(proposed: ChunkSpan[]): Promise<StoredChunk[]>;
  /** False when the job is no longer this run's (canceled, taken over): stop at once. */
  save(
    index: number,
    result: {
      text: string;
      segments: Segment[];
      words: Word[];
      model: string | null;
      language?: string | null;
      processingMs: number;
    },
  ): Promise<boolean>;
}

export function memoryChunkStore(): ChunkStore {
  let chunks: StoredChunk[] = [];
  return {
    async plan(proposed) {
      if (chunks.length === 0) {
        chunks = proposed.map((c, index) => ({
          ...c,
          index,
          done: false,
          text: null,
          segments: [],
          words: [],
          model: null,
        }));
      }
      return chunks.map((c) => ({ ...c }));
    },
    async save(index, result) {
      const chunk = chunks[index];
      if (!chunk) return false;
      Object.assign(chunk, { done: true, ...result });
      return true;
    },
  };
}

/** Where each stage sits on the job's 0–100 progress scale. */
const STAGES = {
  downloading: [0, 3],
  probing: [3, 4],
  normalizing: [4, 9],
  splitting: [9, 10],
  transcribing: [10, 98],
} as const;
export type Stage = keyof typeof STAGES;

/**
 * A progress report; while transcribing, `chunk` says which chunk and how many of its
 * seconds are decoded (the job's figure is derived from all chunks where it is stored).
 */
export type ProgressReporter = (
  progress: number,
  stage: Stage,
  chunk?: { index: number; doneS: number },
) => void;

const at = (stage: Stage, fraction: number) => {
  const [from, to] = STAGES[stage];
  return from + (to - from) * Math.min(1, Math.max(0, fraction));
};

/**
 * Object → temp file → probe → 16 kHz mono WAV → chunks cut at silences → engine, chunk
 * by chunk, each result stored before the next starts → stitched transcript. Streams
 * to disk (memory does not grow with the file), checks `signal` between steps, and
 * removes its temp folder on every path.
 */
export async function runPipeline(
  input: PipelineInput,
  deps: PipelineDeps,
  report: ProgressReporter,
  signal?: AbortSignal,
  store: ChunkStore = memoryChunkStore(),
  fanOut?: FanOut,
  admit?: AdmitAudio,
): Promise<PipelineResult> {
  // Before any download: a job for an engine this worker lacks fails at once.
  const engine = deps.engines.get(input.engine);
  const chunkS = deps.chunkS ?? 300;
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), 'job-'));
  try {
    report(at('downloading', 0), 'downloading');
    const source = join(dir, 'source');
    try {
      await deps.storage.download(input.objectKey, source);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw new PermanentJobError('object_missing', 'the uploaded file is no longer in storage');
      }
      throw error;
    }
    signal?.throwIfAborted();

    const wav = join(dir, 'audio.wav');
    const decodedS = await decodeForEngines(source, wav, {
      maxDurationS: deps.maxDurationS,
      admit,
      signal,
      report: (stage, f) => report(at(stage, f), stage),
    });
    await rm(source, { force: true });
    const media = { durationS: decodedS };

    report(at('splitting', 0), 'splitting');
    // Pauses matter only where there is a cut: a recording up to a chunk and its window
    // stays whole (planChunks), and a pass over its WAV would be time spent for nothing.
    const windowS = deps.chunkWindowS ?? 20;
    const silences =
      media.durationS > chunkS + Math.min(windowS, chunkS / 2)
        ? await detectSilences(wav, { signal })
        : ([] as const);
    const chunks = await store.plan(
      planChunks(media.durationS, silences, {
        chunkS,
        windowS,
        minCount: fanOut?.spreadChunks,
      }),
    );
    signal?.throwIfAborted();

    const pending = chunks.filter((c) => !c.done);
    if (fanOut && pending.length >= Math.max(1, fanOut.minChunks)) {
      for (const [i, chunk] of pending.entries()) {
        report(at('splitting', i / pending.length), 'splitting');
        const chunkWav = join(dir, `chunk-${chunk.index}.wav`);
        try {
          await extractAudio(wav, chunkWav, chunk, signal);
          await fanOut.upload(chunk.index, chunkWav);
        } finally {
          await rm(chunkWav, { force: true });
        }
        signal?.throwIfAborted();
      }
      if (!(await fanOut.dispatch(pending.map((c) => c.index)))) throw new JobLostError();
      return {
        text: '',
        segments: [],
        words: [],
        durationS: media.durationS,
        model: null,
        chunks: chunks.length,
        chunksTranscribed: 0,
        fannedOut: pending.length,
      };
    }

    const total = chunks.at(-1)?.endS ?? media.durationS;
    let doneS = chunks.filter((c) => c.done).reduce((sum, c) => sum + (c.endS - c.startS), 0);
    let transcribed = 0;
    report(at('transcribing', doneS / total), 'transcribing');
    for (const chunk of chunks) {
      if (chunk.done) continue;
      signal?.throwIfAborted();
      const whole = chunks.length === 1;
      const chunkWav = whole ? wav : join(dir, `chunk-${chunk.index}.wav`);
      try {
        if (!whole) await extractAudio(wav, chunkWav, chunk, signal);
        const started = Date.now();
        const lengthS = chunk.endS - chunk.startS;
        report(at('transcribing', doneS / total), 'transcribing', { index: chunk.index, doneS: 0 });
        const result = await engine.transcribe(
          chunkWav,
          { language: input.language, model: input.model, signal },
          (processedS) =>
            report(
              at('transcribing', (doneS + Math.min(processedS, lengthS)) / total),
              'transcribing',
              { index: chunk.index, doneS: Math.min(processedS, lengthS) },
            ),
        );
        const stored = {
          text: result.text,
          segments: offsetSegments(result.segments, chunk),
          words: offsetWords(result.words ?? [], chunk),
          model: result.model,
          language: result.language ?? null,
          processingMs: Date.now() - started,
        };
        if (!(await store.save(chunk.index, stored))) throw new JobLostError();
        Object.assign(chunk, { done: true, ...stored });
      } finally {
        if (!whole) await rm(chunkWav, { force: true });
      }
      doneS += chunk.endS - chunk.startS;
      transcribed++;
      report(at('transcribing', doneS / total), 'transcribing');
    }

    // An empty transcript of audible, non-random audio is a result, not a failure: a weak
    // engine or model may hear nothing (whisper.cpp's test model always does), and the
    // inputs that are certainly not speech were refused before any engine work.
    const { text, segments, words, model } = stitchChunks(chunks);
    return {
      text,
      segments,
      words,
      durationS: media.durationS,
      model,
      chunks: chunks.length,
      chunksTranscribed: transcribed,
      fannedOut: 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
