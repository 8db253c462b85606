import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Segment } from '@transcribe/contracts';
import { ObjectNotFoundError, type Storage } from '@transcribe/storage';
import type { EngineSelector } from './engines/selector.js';
import { PermanentJobError } from './errors.js';
import { normalizeAudio, probeMedia } from './media.js';

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
  durationS: number;
  model: string | null;
}

export interface PipelineDeps {
  storage: Pick<Storage, 'download'>;
  engines: EngineSelector;
  tmpDir?: string;
  maxDurationS: number;
}

/** Where each stage sits on the job's 0–100 progress scale. */
const STAGES = {
  downloading: [0, 3],
  probing: [3, 4],
  normalizing: [4, 10],
  transcribing: [10, 98],
} as const;
export type Stage = keyof typeof STAGES;

export type ProgressReporter = (progress: number, stage: Stage) => void;

const at = (stage: Stage, fraction: number) => {
  const [from, to] = STAGES[stage];
  return from + (to - from) * Math.min(1, Math.max(0, fraction));
};

/**
 * Object → temp file → probe → 16 kHz mono WAV → engine. Streams to disk (memory does
 * not grow with the file) and removes its temp folder on every path.
 */
export async function runPipeline(
  input: PipelineInput,
  deps: PipelineDeps,
  report: ProgressReporter,
  signal?: AbortSignal,
): Promise<PipelineResult> {
  // Before any download: a job for an engine this worker lacks fails at once.
  const engine = deps.engines.get(input.engine);
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

    report(at('probing', 0), 'probing');
    const media = await probeMedia(source, { maxDurationS: deps.maxDurationS });

    report(at('normalizing', 0), 'normalizing');
    const wav = join(dir, 'audio.wav');
    await normalizeAudio(source, wav, {
      durationS: media.durationS,
      signal,
      onProgress: (f) => report(at('normalizing', f), 'normalizing'),
    });
    await rm(source, { force: true });

    report(at('transcribing', 0), 'transcribing');
    const result = await engine.transcribe(
      wav,
      { language: input.language, model: input.model, signal },
      (processedS) => report(at('transcribing', processedS / media.durationS), 'transcribing'),
    );
    return {
      text: result.text,
      segments: result.segments,
      durationS: media.durationS,
      model: result.model,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
