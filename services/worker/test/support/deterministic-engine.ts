// A speech engine for the tests whose subject is the worker's policy (retries, fan-out,
// cancel, leases, broker faults), not recognition: pocketsphinx's speed swings with the
// machine's load and its text with the audio, so those tests waited on guesses. This one
// reads the real WAV that ffmpeg produced, says exactly the reference words of the
// recordings it was told about, and takes as long as told, reporting progress as it goes.
// Real pocketsphinx stays in the end-to-end tests (pipeline, sphinx, testkit e2e).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine, EngineResult, EngineSegment, EngineWord } from '../../src/engines/engine.js';
import { abortError } from '../../src/errors.js';
import type { SpokenSpan } from '../speech.js';
import { readWavSamples } from './wav-samples.js';

/** A recording the engine can recognise anywhere inside, and what is said where. */
export interface KnownSpeech {
  file: string;
  clips: readonly SpokenSpan[];
}

export interface DeterministicEngineOptions {
  /** The name jobs ask for; tests submit their jobs for `sphinx`. */
  name?: string;
  /** Wall time per second of audio, so a test can act while a transcription runs. */
  msPerAudioS?: number;
  /** Audio seconds between progress reports. */
  progressStepS?: number;
  /** Calls (1-based, counted by this engine) that reject with `engine exploded on call n`. */
  fail?: (call: number) => boolean;
  /** Calls that never finish on their own: only their AbortSignal ends them. */
  hang?: (call: number) => boolean;
  /**
   * A call finishes only once the promise returned for it resolves (undefined: at once), so
   * a test can hold transcriptions until it has done what it must do while they run.
   */
  gate?: (call: number) => Promise<unknown> | undefined;
  /** Recordings it recognises; `learn()` adds to this same list. */
  speech?: KnownSpeech[];
}

export interface DeterministicEngine extends Engine {
  /** Transcriptions asked for so far, failed and aborted ones included. */
  readonly calls: number;
  /** From now on, audio cut from `speech` is transcribed as its reference words. */
  learn(speech: KnownSpeech): void;
}

/** The model name recorded on jobs this engine transcribed. */
export const DETERMINISTIC_MODEL = 'deterministic';

export function createDeterministicEngine(
  options: DeterministicEngineOptions = {},
): DeterministicEngine {
  const { name = 'sphinx', msPerAudioS = 40, progressStepS = 1 } = options;
  const known = options.speech ?? [];
  const library = new Map<string, Promise<Int16Array>>();
  let calls = 0;

  const samplesOf = (file: string) => {
    let loading = library.get(file);
    if (!loading) {
      loading = readWavSamples(file).then((w) => w.samples);
      library.set(file, loading);
    }
    return loading;
  };

  async function recognise(samples: Int16Array, sampleRate: number): Promise<EngineResult> {
    const durationS = samples.length / sampleRate;
    for (const speech of known) {
      const offset = locate(samples, await samplesOf(speech.file));
      if (offset === undefined) continue;
      return spokenBetween(speech.clips, offset / sampleRate, durationS);
    }
    return placeholderWords(durationS);
  }

  return {
    name,
    get calls() {
      return calls;
    },
    learn(speech) {
      known.push(speech);
    },
    async transcribe(wavFile, { signal }, onProgress) {
      const call = ++calls;
      if (signal?.aborted) throw abortError(signal);
      if (options.fail?.(call)) throw new Error(`engine exploded on call ${call}`);
      const { samples, sampleRate } = await readWavSamples(wavFile);
      const durationS = samples.length / sampleRate;
      try {
        if (options.hang?.(call)) await sleep(2 ** 31 - 1, undefined, { signal });
        const gate = options.gate?.(call);
        if (gate) await abortable(gate, signal);
        for (let done = 0; done < durationS;) {
          const step = Math.min(progressStepS, durationS - done);
          await sleep(step * msPerAudioS, undefined, { signal });
          done += step;
          onProgress(done);
        }
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        throw error;
      }
      return recognise(samples, sampleRate);
    },
  };
}

/** A whole file of one clip, as known speech. */
export async function knownClip(clip: { wav: string; reference: string }): Promise<KnownSpeech> {
  const { samples, sampleRate } = await readWavSamples(clip.wav);
  return {
    file: clip.wav,
    clips: [{ startS: 0, endS: samples.length / sampleRate, reference: clip.reference }],
  };
}

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Where (in samples) `chunk` starts inside `source`, or undefined when it is not from it. */
function locate(chunk: Int16Array, source: Int16Array): number | undefined {
  // Silence matches anywhere: anchor on the first loud stretch of the chunk.
  const window = 320;
  const anchor = chunk.findIndex((s) => Math.abs(s) > 1000);
  if (anchor < 0 || anchor + window > chunk.length) return undefined;
  // ffmpeg copies PCM samples unchanged, so the match is exact; the bound allows a little
  // for a resampled edge, and ends the comparison at a wrong place within a sample or two.
  let best = window * 8;
  let bestAt: number | undefined;
  for (let p = 0; p + window <= source.length; p++) {
    let difference = 0;
    for (let i = 0; i < window && difference <= best; i++) {
      difference += Math.abs(source[p + i]! - chunk[anchor + i]!);
    }
    if (difference <= best) {
      best = difference;
      bestAt = p;
      if (best === 0) break;
    }
  }
  return bestAt === undefined ? undefined : bestAt - anchor;
}

/**
 * The reference words said between `fromS` and `fromS + durationS` of the recording, each
 * word placed evenly within its clip; times in the result are from the chunk's start.
 */
function spokenBetween(
  clips: readonly SpokenSpan[],
  fromS: number,
  durationS: number,
): EngineResult {
  const toS = fromS + durationS;
  const segments: EngineSegment[] = [];
  const timed: EngineWord[] = [];
  for (const clip of clips) {
    const words = clip.reference.split(/\s+/).filter(Boolean);
    const length = clip.endS - clip.startS;
    const slot = (i: number) => clip.startS + (i / words.length) * length;
    const heard = words
      .map((word, i) => ({ word, i }))
      .filter(({ i }) => {
        const at = clip.startS + ((i + 0.5) / words.length) * length;
        return at >= fromS && at < toS;
      });
    if (heard.length === 0) continue;
    const segment = {
      start: Math.max(clip.startS, fromS) - fromS,
      end: Math.min(clip.endS, toS) - fromS,
      text: heard.map((h) => h.word).join(' '),
    };
    segments.push(segment);
    // Each word fills its even share of the clip, kept inside the segment.
    for (const { word, i } of heard) {
      timed.push({
        word,
        start: Math.max(segment.start, slot(i) - fromS),
        end: Math.min(segment.end, slot(i + 1) - fromS),
      });
    }
  }
  return {
    text: segments.map((s) => s.text).join(' '),
    segments,
    words: timed,
    model: DETERMINISTIC_MODEL,
  };
}

/** For audio it was not told about: one numbered word per second, so the text is stable. */
function placeholderWords(durationS: number): EngineResult {
  const segments: EngineSegment[] = [];
  for (let s = 0; s < Math.floor(durationS); s++) {
    segments.push({ start: s, end: s + 1, text: `word${s + 1}` });
  }
  return { text: segments.map((s) => s.text).join(' '), segments, model: DETERMINISTIC_MODEL };
}
