// whisper.cpp through @fugood/whisper.node (prebuilt binaries, kept in step with
// whisper.cpp): GGML models from local files, loaded once per process and reused.
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { normalizeDetectedLanguage } from '@transcribe/contracts';
import { abortError, PermanentJobError } from '../errors.js';
import type { Engine, EngineResult } from './engine.js';
import { initWhisper, routeNativeLog, type WhisperContext } from './whisper-binding.js';
import { readWavInfo } from './wav.js';
import { joinWhisperPieces } from './whisper-words.js';

export interface WhisperCppEngineOptions {
  /** The default GGML model file. Jobs may name other `.bin` files in the same folder. */
  modelPath: string;
  /** Threads per transcription; default: the CPUs this process may use. */
  threads?: number;
  /** Models other than the default kept loaded at once (least recently used goes first). */
  maxExtraModels?: number;
  /** whisper.cpp's own log lines (else they go to stderr); undone by `release()`. */
  onNativeLog?: (level: string, text: string) => void;
}

export interface WhisperCppEngine extends Engine {
  /** Frees every loaded model. */
  release(): Promise<void>;
}

/** The model file is missing or unusable: a deployment problem, reported at start-up. */
export class WhisperModelError extends Error {
  override readonly name = 'WhisperModelError';
  constructor(
    readonly modelPath: string,
    reason: string,
  ) {
    super(`cannot load the whisper.cpp model ${modelPath}: ${reason}`);
  }
}

/** "ggml" as whisper.cpp writes it (uint32 0x67676d6c, little-endian). */
const GGML_MAGIC = 0x67676d6c;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.bin$/;

/**
 * Loads the default model now, so a missing or corrupt file stops the worker at start
 * with a clear message instead of failing every job.
 */
export async function createWhisperCppEngine(
  opts: WhisperCppEngineOptions,
): Promise<WhisperCppEngine> {
  const defaultPath = resolve(opts.modelPath);
  const folder = dirname(defaultPath);
  const threads = opts.threads ?? availableParallelism();
  const maxExtra = opts.maxExtraModels ?? 1;
  const unrouteLog = opts.onNativeLog ? await routeNativeLog(opts.onNativeLog) : undefined;
  const defaultContext = await loadModel(defaultPath).catch(async (error: unknown) => {
    await unrouteLog?.();
    throw error;
  });
  // Extra models by path, most recently used last.
  const extra = new Map<string, WhisperContext>();
  // One transcription at a time: each already uses every thread it is given, and a
  // context holds one decoding state.
  let queue: Promise<unknown> = Promise.resolve();

  async function contextFor(model: string | null | undefined): Promise<[WhisperContext, string]> {
    if (!model || model === basename(defaultPath)) return [defaultContext, basename(defaultPath)];
    // Only bare file names in the configured folder: a job must not make the worker
    // open arbitrary paths.
    if (!MODEL_NAME.test(model) || model.includes('..')) {
      throw new PermanentJobError(
        'engine_rejected',
        `whisper-cpp model must be a .bin file name from the models folder, not '${model}'`,
      );
    }
    const path = join(folder, model);
    const loaded = extra.get(path);
    if (loaded) {
      extra.delete(path);
      extra.set(path, loaded);
      return [loaded, model];
    }
    const context = await loadModel(path).catch((error: unknown) => {
      throw error instanceof WhisperModelError
        ? new PermanentJobError('engine_rejected', `whisper-cpp model '${model}' is not available`)
        : error;
    });
    extra.set(path, context);
    for (const [oldPath, old] of extra) {
      if (extra.size <= maxExtra) break;
      extra.delete(oldPath);
      await old.release();
    }
    return [context, model];
  }

  async function run(
    wavFile: string,
    options: Parameters<Engine['transcribe']>[1],
    onProgress: (processedS: number) => void,
  ): Promise<EngineResult> {
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    const [context, model] = await contextFor(options.model);
    const { durationS } = await readWavInfo(wavFile);
    // Loading a job's model takes a while; a cancel during it must not start decoding.
    if (signal?.aborted) throw abortError(signal);
    let lastPercent = 0;
    const groupSizes: number[] = [];
    const { stop, promise } = context.transcribeFile(wavFile, {
      language: whisperLanguage(options.language),
      maxThreads: threads,
      // Word timings: one piece per token, regrouped below (whisper-words.ts).
      tokenTimestamps: true,
      maxLen: 1,
      onNewSegments: ({ nNew }) => void groupSizes.push(nNew),
      onProgress: (percent) => {
        // whisper.cpp may report past 100 (it counts decoder passes): clamp, never go back.
        const p = Math.min(100, Math.max(lastPercent, percent));
        if (p === lastPercent) return;
        lastPercent = p;
        onProgress((durationS * p) / 100);
      },
    });
    const onAbort = (): void => void stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await promise;
      if (signal?.aborted || result.isAborted) throw abortError(signal ?? AbortSignal.abort());
      const { segments, words } = joinWhisperPieces(result.segments, groupSizes);
      const text = segments.length ? segments.map((s) => s.text).join(' ') : result.result.trim();
      // English-only models report `en` whatever they heard: only `auto` asks for detection.
      const language =
        options.language === 'auto' ? normalizeDetectedLanguage(result.language) : undefined;
      return { text, segments, words, model, ...(language ? { language } : {}) };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: 'whisper-cpp',
    transcribe(wavFile, options, onProgress) {
      const turn = queue.then(() => run(wavFile, options, onProgress));
      queue = turn.catch(() => undefined);
      return untilAborted(turn, options.signal);
    },
    async release() {
      await queue;
      for (const context of extra.values()) await context.release();
      extra.clear();
      await defaultContext.release();
      await unrouteLog?.();
    },
  };
}

/** A job canceled while it waits for its turn stops waiting (its turn then ends at once). */
function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function loadModel(path: string): Promise<WhisperContext> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new WhisperModelError(path, 'not a file');
    size = info.size;
  } catch (error) {
    if (error instanceof WhisperModelError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new WhisperModelError(path, code === 'ENOENT' ? 'no such file' : String(error));
  }
  // whisper.cpp says only "Failed to initialize whisper context" (and logs the real
  // reason to stderr); the commonest mistake, a file that is no GGML model, is named here.
  const head = Buffer.alloc(4);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (size < 4 || head.readUInt32LE(0) !== GGML_MAGIC) {
    throw new WhisperModelError(path, 'not a whisper.cpp GGML model (bad magic number)');
  }
  try {
    return await initWhisper({ filePath: path, useGpu: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WhisperModelError(
      path,
      `${reason} (truncated, or made for another whisper.cpp version?)`,
    );
  }
}

/** whisper.cpp takes ISO-639-1 codes or `auto`. */
function whisperLanguage(language: string): string {
  if (!language || language === 'auto') return 'auto';
  return language.split('-')[0]?.toLowerCase() ?? 'auto';
}
