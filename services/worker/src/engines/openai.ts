// Any OpenAI-compatible `/v1/audio/transcriptions` (OpenAI itself, speaches, LocalAI,
// vLLM…) through the official `openai` package.
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { normalizeDetectedLanguage } from '@transcribe/contracts';
import { compressAudio } from '../media.js';
import { abortError, PermanentJobError } from '../errors.js';
import type { Engine, EngineResult, EngineSegment, EngineWord } from './engine.js';
import {
  apiLanguage,
  formatParams,
  preferredFormat,
  TranscriptionJson,
  TranscriptionVerbose,
  type ResponseFormat,
} from './openai-wire.js';
import { readWavInfo } from './wav.js';

/** OpenAI refuses files over 25 MB; stay under it with room for rounding (25 000 000 or 25 MiB). */
export const OPENAI_MAX_FILE_BYTES = 24_000_000;

export interface OpenAIEngineOptions {
  /** e.g. `http://speaches:8000/v1`; OpenAI's own API when omitted. */
  baseURL?: string;
  /** Self-hosted servers often need none; a placeholder is sent then. */
  apiKey?: string;
  /** Model for jobs that name none, e.g. `whisper-1`, `gpt-4o-transcribe`. */
  model: string;
  /** Retries of one request after 429, 408/409, 5xx or a dropped connection. */
  maxRetries: number;
  /** Largest file sent in one request; bigger audio is compressed, then split. */
  maxFileBytes?: number;
  /** Opus bitrate used when the WAV is too big. */
  compressBitrateKbps?: number;
  /**
   * A Retry-After longer than this is not waited out inside the job: the request fails
   * as transient and the job is retried later through the worker's delay queue.
   */
  maxRetryDelayMs?: number;
  /** Per request. */
  timeoutMs?: number;
  tmpDir?: string;
  /** Told about every retry (for logs). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  delayMs: number;
  status: number | undefined;
  message: string;
}

interface Piece {
  file: string;
  startS: number;
  endS: number;
}

export function createOpenAIEngine(opts: OpenAIEngineOptions): Engine {
  const client = new OpenAI({
    baseURL: opts.baseURL,
    apiKey: opts.apiKey ?? 'unused',
    // Retries are ours (below): the SDK's own wait ignores the AbortSignal and has no
    // upper bound on Retry-After (openai 6.x core/client.ts retryRequest).
    maxRetries: 0,
    timeout: opts.timeoutMs ?? 10 * 60_000,
  });
  const maxFileBytes = opts.maxFileBytes ?? OPENAI_MAX_FILE_BYTES;
  // 64 kbps Opus is 1/4 of the WAV (50 minutes per request) and, unlike 24-48 kbps,
  // cost pocketsphinx no words on the LibriVox clips.
  const bitrateKbps = opts.compressBitrateKbps ?? 64;
  // Models found to refuse verbose_json or diarized_json, so later requests ask for json at once.
  const jsonOnly = new Set<string>();

  async function request(piece: Piece, model: string, language: string, signal?: AbortSignal) {
    let format: ResponseFormat = jsonOnly.has(model) ? 'json' : preferredFormat(model);
    const send = (fmt: ResponseFormat) =>
      withRetries(() => sendOnce(client, piece.file, model, fmt, language, signal), opts, signal);
    try {
      return await send(format).then((raw) => parseResponse(raw, format));
    } catch (error) {
      if (format !== 'json' && refusesFormat(error)) {
        jsonOnly.add(model);
        format = 'json';
        return send(format).then((raw) => parseResponse(raw, format));
      }
      throw error;
    }
  }

  // The server says nothing until a request's answer arrives, so within a request the
  // progress is an estimate (issue 16): elapsed time × this worker's measured rate (audio
  // seconds per wall second over its earlier requests, smoothed), capped at 90 % of the
  // piece so it never claims the end before the answer does. Until one request has been
  // measured it assumes real time. The answer then reports the piece's true end.
  let rate: number | undefined;
  const estimateWithinRequest = (
    piece: { startS: number; endS: number },
    onProgress: (processedS: number) => void,
  ) => {
    const started = Date.now();
    const lengthS = piece.endS - piece.startS;
    const timer = setInterval(() => {
      const guessS = ((Date.now() - started) / 1000) * (rate ?? 1);
      onProgress(piece.startS + Math.min(guessS, 0.9 * lengthS));
    }, 500);
    timer.unref();
    return {
      end(answered: boolean) {
        clearInterval(timer);
        if (!answered) return;
        const wallS = (Date.now() - started) / 1000;
        if (wallS > 0.05 && lengthS > 0) {
          const measured = lengthS / wallS;
          rate = rate === undefined ? measured : 0.7 * rate + 0.3 * measured;
        }
      },
    };
  };

  return {
    name: 'openai',
    async transcribe(wavFile, options, onProgress): Promise<EngineResult> {
      const { signal } = options;
      if (signal?.aborted) throw abortError(signal);
      const model = options.model || opts.model;
      const { durationS } = await readWavInfo(wavFile);
      const { size } = await stat(wavFile);
      const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'openai-'));
      try {
        const texts: string[] = [];
        const segments: EngineSegment[] = [];
        const words: EngineWord[] = [];
        // Seconds of audio per language the server said it heard (verbose_json only).
        const heard = new Map<string, number>();
        const pieces = plan(wavFile, { size, durationS, dir, maxFileBytes, bitrateKbps, signal });
        for await (const piece of pieces) {
          const estimate = estimateWithinRequest(piece, onProgress);
          const part = await request(piece, model, options.language, signal).then(
            (answer) => {
              estimate.end(true);
              return answer;
            },
            (error: unknown) => {
              estimate.end(false);
              throw classify(error, signal);
            },
          );
          if (part.text.trim()) texts.push(part.text.trim());
          const language = normalizeDetectedLanguage(part.language);
          if (language) heard.set(language, (heard.get(language) ?? 0) + piece.endS - piece.startS);
          // json answers (and some servers' verbose ones) have no timings: one segment
          // spans the piece.
          const parts = part.segments?.length
            ? part.segments
            : [{ start: 0, end: piece.endS - piece.startS, text: part.text }];
          for (const s of parts) {
            const text = s.text.trim();
            if (!text) continue;
            const speaker = 'speaker' in s ? s.speaker : undefined;
            segments.push({ ...inPiece(s, piece), text, ...(speaker ? { speaker } : {}) });
          }
          for (const w of part.words ?? []) {
            const word = w.word.trim();
            if (!word) continue;
            const p = w.probability;
            const confidence = typeof p === 'number' && p >= 0 && p <= 1 ? p : undefined;
            words.push({
              ...inPiece(w, piece),
              word,
              ...(confidence !== undefined ? { confidence } : {}),
            });
          }
          onProgress(piece.endS);
        }
        // OpenAI names the language (`english`), others give a code; either way only `auto` asks.
        const language = options.language === 'auto' ? longestHeard(heard) : undefined;
        return {
          text: texts.join(' '),
          segments,
          words,
          model,
          ...(language ? { language } : {}),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Times of a piece's answer on the file's time line, kept inside the piece. */
function inPiece(t: { start: number; end: number }, piece: Piece) {
  const start = Math.max(0, piece.startS + t.start);
  return { start, end: Math.max(start, Math.min(piece.endS, piece.startS + t.end)) };
}

/** The language heard over the most seconds; the first heard wins a tie. */
function longestHeard(heard: ReadonlyMap<string, number>): string | undefined {
  let best: [string, number] | undefined;
  for (const entry of heard) if (!best || entry[1] > best[1]) best = entry;
  return best?.[0];
}

/**
 * The files to send: the WAV itself when it fits, else one Opus file of it, else Opus pieces
 * of at most `maxFileBytes`, made one at a time so only one sits on disk.
 */
async function* plan(
  wav: string,
  o: {
    size: number;
    durationS: number;
    dir: string;
    maxFileBytes: number;
    bitrateKbps: number;
    signal?: AbortSignal;
  },
): AsyncGenerator<Piece> {
  if (o.size <= o.maxFileBytes) {
    yield { file: wav, startS: 0, endS: o.durationS };
    return;
  }
  const bytesPerS = (o.bitrateKbps * 1000) / 8;
  // Ogg pages and headers cost a little over the nominal rate; 10% covers it.
  const pieceS = Math.max(1, Math.floor((o.maxFileBytes / bytesPerS) * 0.9));
  if (o.durationS <= pieceS) {
    const file = join(o.dir, 'audio.ogg');
    await compressAudio(wav, file, { bitrateKbps: o.bitrateKbps, signal: o.signal });
    if ((await stat(file)).size <= o.maxFileBytes) {
      yield { file, startS: 0, endS: o.durationS };
      return;
    }
  }
  const spans: { startS: number; endS: number }[] = [];
  for (let startS = 0; startS < o.durationS; startS += pieceS) {
    spans.push({ startS, endS: Math.min(o.durationS, startS + pieceS) });
  }
  for (let i = 0; spans.length > 0; i++) {
    const span = spans.shift()!;
    const file = join(o.dir, `piece-${i}.ogg`);
    await compressAudio(wav, file, { bitrateKbps: o.bitrateKbps, span, signal: o.signal });
    if ((await stat(file)).size > o.maxFileBytes) {
      // Over the estimate after all: halve the span and try again.
      await rm(file, { force: true });
      if (span.endS - span.startS < 2) {
        throw new Error(`cannot compress audio under ${o.maxFileBytes} bytes per request`);
      }
      const middle = (span.startS + span.endS) / 2;
      spans.unshift({ startS: span.startS, endS: middle }, { startS: middle, endS: span.endS });
      continue;
    }
    yield { file, ...span };
    await rm(file, { force: true });
  }
}

async function sendOnce(
  client: OpenAI,
  file: string,
  model: string,
  format: ResponseFormat,
  language: string,
  signal?: AbortSignal,
): Promise<unknown> {
  const lang = apiLanguage(language);
  // The server tells the format by the file name's extension; temp names may lack one.
  const name = file.endsWith('.ogg') ? 'audio.ogg' : 'audio.wav';
  // A File backed by the file on disk (Node's openAsBlob): the request streams it from
  // disk. Read through a stream, toFile would hold every chunk's audio (≈ 10 MB) in memory
  // per request, and a 10-hour recording's 120 requests kept the worker ≈ 100 MB above a
  // 1-minute one until the garbage collector caught up (issue 18, figure rss-10h).
  const upload = new File([await openAsBlob(file)], name, {
    type: name.endsWith('.ogg') ? 'audio/ogg' : 'audio/wav',
  });
  return client.audio.transcriptions.create(
    {
      file: upload,
      model,
      ...formatParams(format),
      ...(lang ? { language: lang } : {}),
    },
    { signal },
  );
}

function parseResponse(raw: unknown, format: ResponseFormat) {
  const schema = format === 'json' ? TranscriptionJson : TranscriptionVerbose;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const got = JSON.stringify(raw)?.slice(0, 200) ?? String(raw);
    throw new Error(`the transcription server answered an unexpected ${format} body: ${got}`);
  }
  return parsed.data as TranscriptionVerbose;
}

async function withRetries<T>(
  call: () => Promise<T>,
  opts: Pick<OpenAIEngineOptions, 'maxRetries' | 'maxRetryDelayMs' | 'onRetry'>,
  signal?: AbortSignal,
): Promise<T> {
  const maxDelayMs = opts.maxRetryDelayMs ?? 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (signal?.aborted || error instanceof APIUserAbortError || !isRetryable(error)) throw error;
      const status = error instanceof APIError ? error.status : undefined;
      if (attempt > opts.maxRetries) {
        throw new Error(
          `transcription server still failing after ${attempt} attempts: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      const delayMs = retryAfterMs(error) ?? backoffMs(attempt);
      if (delayMs > maxDelayMs) {
        throw new Error(
          `transcription server asked to wait ${Math.round(delayMs / 1000)} s (over ${maxDelayMs / 1000} s); the job will be retried later`,
          { cause: error },
        );
      }
      opts.onRetry?.({ attempt, delayMs, status, message: error.message });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        throw abortError(signal ?? AbortSignal.abort());
      }
    }
  }
}

function isRetryable(error: unknown): error is APIError {
  if (error instanceof APIConnectionError) return true;
  if (!(error instanceof APIError) || error.status === undefined) return false;
  return (
    error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500
  );
}

/** `retry-after-ms` (OpenAI's), else `Retry-After` in seconds or as an HTTP date. */
function retryAfterMs(error: APIError): number | undefined {
  const ms = Number.parseFloat(error.headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const header = error.headers?.get('retry-after');
  if (!header) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** 0.5 s doubling to 8 s, minus up to 25% jitter (the SDK's own schedule). */
function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8000) * (1 - Math.random() * 0.25);
}

function refusesFormat(error: unknown): boolean {
  return (
    error instanceof APIError &&
    error.status === 400 &&
    (error.param === 'response_format' ||
      /response_format|verbose_json|diarized_json/.test(error.message))
  );
}

/** Aborts stay aborts; a 4xx the server will give again is the job's permanent failure. */
function classify(error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return abortError(signal);
  if (error instanceof APIUserAbortError) return abortError(signal ?? AbortSignal.abort());
  if (error instanceof APIError && error.status !== undefined && !isRetryable(error)) {
    return new PermanentJobError(
      'engine_rejected',
      `the transcription server refused the request (HTTP ${error.status}${error.code ? `, ${error.code}` : ''}): ${error.message}`,
    );
  }
  return error;
}
