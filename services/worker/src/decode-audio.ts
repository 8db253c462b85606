// From the downloaded object to the WAV the engines take, with every media check on the
// way: what the file really holds (decoded, not as its header says), silence and random
// data refused, MAX_DURATION_S and the tenant's quota enforced before any engine work.
import { rm } from 'node:fs/promises';
import {
  analyzeAudio,
  assertTranscribable,
  decodeClip,
  decodedTooLong,
  normalizeAudio,
  probeMedia,
  type AudioAnalysis,
  type MediaInfo,
} from './media.js';

/**
 * Recordings whose container claims at most this are decoded once (WAV and measurements
 * together): the synchronous route's short clips should cost the engine's time, not
 * three decodes. Longer ones are measured first without writing anything, so one past
 * its limits is refused before a full decode is written to disk.
 */
export const CLIP_S = 120;

export interface DecodeOptions {
  maxDurationS: number;
  /** Refuses the decoded duration (the tenant's quota); see pipeline.ts › AdmitAudio. */
  admit?: (durationS: number) => Promise<void>;
  report: (stage: 'probing' | 'normalizing', fraction: number) => void;
  signal?: AbortSignal;
}

/** Writes `wav` (16 kHz mono s16le) from `source` and returns its decoded duration. */
export async function decodeForEngines(
  source: string,
  wav: string,
  opts: DecodeOptions,
): Promise<number> {
  const { maxDurationS, signal, report } = opts;
  report('probing', 0);
  // The probe and a clip's decode run side by side, so a short recording waits for
  // neither in turn. The probe still rules: its refusal wins, and a container claiming
  // more than a clip stops the decode and takes the measuring path.
  const limitS = Math.min(CLIP_S, maxDurationS);
  const clipping = new AbortController();
  const clipDecode = decodeClip(source, wav, {
    limitS,
    signal: signal ? AbortSignal.any([signal, clipping.signal]) : clipping.signal,
  });
  // Its failure is read after the probe's; until then it must not count as unhandled.
  void clipDecode.catch(() => undefined);
  const abandonClip = async () => {
    clipping.abort();
    await clipDecode.catch(() => undefined);
    await rm(wav, { force: true });
  };
  let container: MediaInfo;
  try {
    container = await probeMedia(source);
  } catch (error) {
    await abandonClip();
    throw error;
  }

  if (container.durationS <= CLIP_S) {
    const clip = await clipDecode;
    if (clip) {
      report('normalizing', 1);
      await admitted(clip, opts);
      return clip.durationS;
    }
    if (limitS === maxDurationS) throw decodedTooLong(maxDurationS);
    // The header lied: it decodes past a clip. Measure the rest before writing it out.
  }
  await abandonClip();
  signal?.throwIfAborted();

  // The container's word is only a hint: duration, limits and quota go by one decode
  // without output, which also refuses silence and random data before any engine work.
  const analysis = await analyzeAudio(source, {
    maxDurationS,
    durationHintS: container.durationS,
    signal,
    onProgress: (f) => report('probing', f),
  });
  await admitted(analysis, opts);
  signal?.throwIfAborted();

  report('normalizing', 0);
  return normalizeAudio(source, wav, {
    durationS: analysis.durationS,
    signal,
    onProgress: (f) => report('normalizing', f),
  });
}

async function admitted(analysis: AudioAnalysis, opts: DecodeOptions): Promise<void> {
  assertTranscribable(analysis);
  await opts.admit?.(analysis.durationS);
  opts.signal?.throwIfAborted();
}
