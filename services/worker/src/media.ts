// The worker's only door to ffmpeg/ffprobe: everything else sees typed results and
// PermanentJobError codes, never ffmpeg's stderr.
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { abortError, PermanentJobError } from './errors.js';

/**
 * Runs ffmpeg and ffprobe from these paths from now on (the worker's parent-death
 * wrappers, see child-lifetime.ts); process-wide, set once at start.
 */
export function useMediaBinaries(paths: { ffmpeg: string; ffprobe: string }): void {
  ffmpeg.setFfmpegPath(paths.ffmpeg);
  ffmpeg.setFfprobePath(paths.ffprobe);
}

export interface MediaInfo {
  durationS: number;
  /** ffprobe's demuxer name, e.g. `wav`, `mp3`, `mov,mp4,m4a,3gp,3g2,mj2`. */
  formatName: string;
  audioCodec: string;
  /** A real picture track; cover art embedded in audio files does not count. */
  hasVideo: boolean;
}

export interface ProbeOptions {
  /**
   * Media whose container claims more is rejected with `too_long` before any decoding.
   * Containers can lie (a truncated MP3); the pipeline checks the decoded audio instead.
   */
  maxDurationS?: number;
}

export interface NormalizeOptions {
  /** Called with increasing fractions in 0..1, and with 1 once the output is complete. */
  onProgress?: (fraction: number) => void;
  /** Input duration (from probeMedia); without it progress is only reported at the end. */
  durationS?: number;
  /** Kills ffmpeg and rejects with an AbortError. */
  signal?: AbortSignal;
}

export async function probeMedia(file: string, opts: ProbeOptions = {}): Promise<MediaInfo> {
  // A missing local file is our own bug, not the user's: let ENOENT through as retryable.
  const { size } = await stat(file);
  if (size === 0) throw new PermanentJobError('invalid_media', 'The file is empty (0 bytes).');

  const data = await ffprobe(file);
  // ffmpeg's `tty` demuxer claims any file named *.txt and calls it ANSI-art video.
  if (data.format.format_name === 'tty') {
    throw new PermanentJobError('invalid_media', 'The file is text, not audio or video.');
  }
  const audio = data.streams.find((s) => s.codec_type === 'audio');
  const hasVideo = data.streams.some(
    (s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1,
  );
  if (data.streams.length === 0) {
    // A container with nothing in it (e.g. an m4a cut to 0 s) is empty rather than mislabelled.
    throw new PermanentJobError('empty_audio', 'The file contains no audio or video at all.');
  }
  if (!audio) {
    const found = data.streams.map((s) => `${s.codec_type ?? 'unknown'} (${s.codec_name ?? '?'})`);
    throw new PermanentJobError(
      'no_audio_stream',
      `The file has no audio stream (found: ${found.join(', ')}).`,
    );
  }

  // Files written live (browser MediaRecorder webm, streamed ogg) state no duration;
  // for those the packets are counted rather than the upload rejected.
  const durationS =
    positiveSeconds(audio.duration) ??
    positiveSeconds(data.format.duration) ??
    (await scanAudioDuration(file));
  if (!(durationS > 0)) {
    throw new PermanentJobError('empty_audio', 'The audio stream contains no samples.');
  }
  if (opts.maxDurationS !== undefined && durationS > opts.maxDurationS) {
    throw new PermanentJobError(
      'too_long',
      `The media lasts ${formatDuration(durationS)}; the maximum is ${formatDuration(opts.maxDurationS)}.`,
    );
  }
  return {
    durationS,
    formatName: String(data.format.format_name ?? 'unknown'),
    audioCodec: audio.codec_name ?? 'unknown',
    hasVideo,
  };
}

/** What a full decode of the audio found (see analyzeAudio). */
export interface AudioAnalysis {
  /** Of the decoded audio (its sample count), not what the container claims. */
  durationS: number;
  /** Loudest sample, dBFS; -Infinity for digital silence. */
  peakDb: number;
  /** Normalised entropy of the sample values (astats): ≈ 1 for uniform random data. */
  entropy: number;
}

export interface AnalyzeOptions {
  /** Decoding stops just past this; longer audio is rejected with `too_long`. */
  maxDurationS: number;
  /** Container duration, for progress; progress is reported only at the end without it. */
  durationHintS?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Quieter than this at its loudest, a recording holds nothing to transcribe. */
const SILENCE_PEAK_DB = -50;
/**
 * Sample values spread this evenly are random data, not sound (a speech recording is
 * peaky: 0.7–0.8 on the fixtures; bytes from /dev/urandom behind a WAV header: 0.99).
 */
const NOISE_ENTROPY = 0.97;

/**
 * Decodes the first audio stream once, without writing anything (`-f null`): the
 * decoded duration, from the sample count at 16 kHz mono (a truncated MP3's header
 * claims more than it holds), and its loudness. Costs a decode (hundreds of times real
 * time), no disk, and stops past `maxDurationS`, so a tiny file that decodes to hours
 * is refused before anything is written or sent to an engine.
 */
export async function analyzeAudio(file: string, opts: AnalyzeOptions): Promise<AudioAnalysis> {
  const { maxDurationS, signal } = opts;
  const meter = audioMeter(opts);
  const command = ffmpeg(file)
    .inputOptions(['-nostdin'])
    .outputOptions(['-map', '0:a:0', '-vn', '-t', String(maxDurationS + 1)])
    .audioFilters(MEASURING_FILTERS)
    .format('null')
    .output('-')
    .on('stderr', meter.onStderr);
  await runFfmpeg(command, { input: file, signal });
  const durationS = Number(meter.stats['Number of samples'] ?? 0) / 16000;
  if (!(durationS > 0)) {
    throw new PermanentJobError('empty_audio', 'The audio decodes to no samples.');
  }
  if (durationS > maxDurationS) throw decodedTooLong(maxDurationS);
  return meter.result(durationS);
}

export interface ClipOptions {
  /** Decoding stops just past this; longer audio yields `undefined` (its WAV is partial). */
  limitS: number;
  /** Container duration, for progress; progress is reported only at the end without it. */
  durationHintS?: number;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/**
 * analyzeAudio and normalizeAudio in one decode, for short recordings: writes the 16 kHz
 * mono WAV and measures the very samples it writes. The duration is the WAV's sample
 * count. Audio running past `limitS` returns `undefined` (after at most `limitS` + 1 s
 * of output), so a lying header costs a bounded decode, never a full one.
 */
export async function decodeClip(
  input: string,
  output: string,
  opts: ClipOptions,
): Promise<AudioAnalysis | undefined> {
  const { limitS, signal } = opts;
  const meter = audioMeter(opts);
  const command = ffmpeg(input)
    .inputOptions(['-nostdin'])
    .outputOptions(['-map', '0:a:0', '-vn', '-t', String(limitS + 1), '-acodec', 'pcm_s16le'])
    // The filters analyzeAudio measures with, so the checks see the same samples.
    .audioFilters(MEASURING_FILTERS)
    .format('wav')
    .output(output)
    .on('stderr', meter.onStderr);
  await runFfmpeg(command, { input, output, signal });
  const durationS = (await wavDataBytes(output)) / 32000;
  if (!(durationS > 0)) {
    throw new PermanentJobError('empty_audio', 'The audio decodes to no samples.');
  }
  if (durationS > limitS) return undefined;
  return meter.result(durationS);
}

/** 16 kHz mono s16 (what the engines read), measured by astats as it passes. */
const MEASURING_FILTERS = [
  'aformat=sample_fmts=s16:sample_rates=16000:channel_layouts=mono',
  'astats=measure_perchannel=none:measure_overall=Peak_level+Entropy+Number_of_samples',
];

/**
 * Collects astats' figures from ffmpeg's stderr and reports decoding progress against
 * the container's duration; `result` reads the analysis once the decode has ended.
 */
function audioMeter(opts: { durationHintS?: number; onProgress?: (fraction: number) => void }) {
  const { durationHintS, onProgress } = opts;
  const stats: Record<string, string> = {};
  let lastFraction = 0;
  return {
    stats,
    onStderr(line: string) {
      const stat = /\] (Peak level dB|Entropy|Number of samples): (\S+)/.exec(line);
      if (stat) stats[stat[1]!] = stat[2]!;
      const seconds = timemarkSeconds(line);
      if (onProgress && durationHintS && seconds !== undefined) {
        const fraction = Math.min(1, seconds / durationHintS);
        if (fraction > lastFraction) {
          lastFraction = fraction;
          onProgress(fraction);
        }
      }
    },
    result(durationS: number): AudioAnalysis {
      const peak = stats['Peak level dB'];
      onProgress?.(1);
      return {
        durationS,
        peakDb: peak === undefined || peak === '-inf' ? -Infinity : Number(peak),
        entropy: Number(stats['Entropy'] ?? 0),
      };
    },
  };
}

/** The refusal of audio that decodes past `maxDurationS`. */
export function decodedTooLong(maxDurationS: number): PermanentJobError {
  return new PermanentJobError(
    'too_long',
    `The audio lasts more than ${formatDuration(maxDurationS)} once decoded; that is the maximum.`,
  );
}

/**
 * Refuses audio with nothing to transcribe before any engine work: silence throughout
 * (`empty_audio`) or random data dressed as audio (`invalid_media`).
 */
export function assertTranscribable(analysis: AudioAnalysis): void {
  if (analysis.peakDb < SILENCE_PEAK_DB) {
    throw new PermanentJobError(
      'empty_audio',
      `The audio is silent throughout (${formatDuration(analysis.durationS)}, peak ${analysis.peakDb === -Infinity ? '-inf' : analysis.peakDb.toFixed(1)} dBFS).`,
    );
  }
  if (analysis.entropy > NOISE_ENTROPY) {
    throw new PermanentJobError(
      'invalid_media',
      'The audio is noise throughout (random data, not a recording).',
    );
  }
}

/**
 * Decodes the first audio stream to 16 kHz mono s16le WAV, the input every engine takes,
 * and returns the decoded duration in seconds (from the WAV's sample count).
 */
export async function normalizeAudio(
  input: string,
  output: string,
  opts: NormalizeOptions = {},
): Promise<number> {
  const { onProgress, durationS, signal } = opts;
  let lastFraction = 0;
  const command = ffmpeg(input)
    .inputOptions(['-nostdin'])
    .outputOptions(['-map', '0:a:0', '-vn', '-ac', '1', '-ar', '16000', '-acodec', 'pcm_s16le'])
    .format('wav')
    .output(output);

  // Timemarks are read from stderr rather than the 'progress' event, which would make
  // fluent-ffmpeg run a second ffprobe of the input just to compute its own percent.
  if (onProgress && durationS && durationS > 0) {
    command.on('stderr', (line: string) => {
      const seconds = timemarkSeconds(line);
      if (seconds === undefined) return;
      const fraction = Math.min(1, seconds / durationS);
      if (fraction > lastFraction) {
        lastFraction = fraction;
        onProgress(fraction);
      }
    });
  }
  await runFfmpeg(command, { input, output, signal });
  const bytes = await wavDataBytes(output);
  if (bytes === 0) {
    throw new PermanentJobError('empty_audio', 'The audio decodes to no samples.');
  }
  if (onProgress && lastFraction < 1) onProgress(1);
  // 16-bit mono at 16 kHz: the decoded duration, whatever the container said.
  return bytes / 32000;
}

export interface SilenceOptions {
  /** Quieter than this (dBFS) counts as silence. */
  noiseDb?: number;
  /** Shortest pause reported. */
  minSilenceS?: number;
  signal?: AbortSignal;
}

/**
 * Pauses in a (normalised) WAV file, found by ffmpeg's `silencedetect` in one streaming
 * pass: memory holds only the list of pauses, whatever the file's length.
 */
export async function detectSilences(
  wav: string,
  opts: SilenceOptions = {},
): Promise<{ startS: number; endS: number }[]> {
  const { noiseDb = -35, minSilenceS = 0.3, signal } = opts;
  const silences: { startS: number; endS: number }[] = [];
  let openStart: number | undefined;
  const command = ffmpeg(wav)
    .inputOptions(['-nostdin'])
    .audioFilters(`silencedetect=noise=${noiseDb}dB:d=${minSilenceS}`)
    .format('null')
    .output('-')
    .on('stderr', (line: string) => {
      const start = /silence_start: (-?\d+(?:\.\d+)?)/.exec(line);
      if (start) openStart = Math.max(0, Number(start[1]));
      const end = /silence_end: (\d+(?:\.\d+)?)/.exec(line);
      if (end && openStart !== undefined) {
        silences.push({ startS: openStart, endS: Number(end[1]) });
        openStart = undefined;
      }
    });
  await runFfmpeg(command, { input: wav, signal });
  // A pause that runs to the end of the file has a start and no end line.
  if (openStart !== undefined) silences.push({ startS: openStart, endS: Infinity });
  return silences;
}

/**
 * Copies `[startS, endS)` of a 16 kHz mono WAV into its own WAV file (sample-accurate:
 * PCM is decoded, so the seek is exact), streaming from disk to disk.
 */
export function extractAudio(
  wav: string,
  output: string,
  span: { startS: number; endS: number },
  signal?: AbortSignal,
): Promise<void> {
  const command = ffmpeg(wav)
    .inputOptions([
      '-nostdin',
      '-ss',
      span.startS.toFixed(3),
      '-t',
      (span.endS - span.startS).toFixed(3),
    ])
    .outputOptions(['-map', '0:a:0', '-ac', '1', '-ar', '16000', '-acodec', 'pcm_s16le'])
    .format('wav')
    .output(output);
  return runFfmpeg(command, { input: wav, output, signal });
}

/**
 * Runs a prepared command to its end. The signal kills ffmpeg (SIGKILL) and rejects with
 * the signal's reason; any other failure is classified into a job error code.
 */
function runFfmpeg(
  command: ffmpeg.FfmpegCommand,
  ctx: { input: string; output?: string; signal?: AbortSignal },
): Promise<void> {
  const { signal } = ctx;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      command.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    command.on('error', (err: Error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        aborted && signal ? abortError(signal) : classifyFfmpegError(err, ctx.input, ctx.output),
      );
    });
    command.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    command.run();
  });
}

function ffprobe(file: string): Promise<ffmpeg.FfprobeData> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(file, ['-v', 'error'], (err: unknown, data: ffmpeg.FfprobeData) => {
      if (!err) resolve(data);
      else reject(classifyFfprobeError(err, file));
    });
  });
}

function classifyFfprobeError(err: unknown, file: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  // Only a clean non-zero exit means "ffprobe looked at it and refused"; a missing binary
  // or a kill signal is an environment problem worth retrying.
  if (!/^ffprobe exited with code \d+/.test(message)) {
    return err instanceof Error ? err : new Error(message);
  }
  const detail = firstMeaningfulLine(message.split('\n').slice(1), file);
  return new PermanentJobError(
    'invalid_media',
    `The file is not readable media${detail ? `: ${detail}` : ''}.`,
  );
}

function classifyFfmpegError(err: Error, input: string, output?: string): Error {
  const message = err.message;
  if (!/^ffmpeg exited with code \d+/.test(message)) return err;
  // Failures to write our own output (full disk, vanished temp dir) are transient.
  const writeFailed = output !== undefined && message.includes(output);
  if (writeFailed || /No space left on device|Cannot allocate memory/.test(message)) return err;
  const lines = message.replace(/^ffmpeg exited with code \d+:?/, '').split('\n');
  const detail = firstMeaningfulLine(lines, input);
  return new PermanentJobError(
    'invalid_media',
    `The audio could not be decoded${detail ? `: ${detail}` : ''}.`,
  );
}

/** Demuxes (no decoding) the first audio stream and returns the last timestamp seen. */
function scanAudioDuration(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seconds = 0;
    ffmpeg(file)
      .inputOptions(['-nostdin'])
      .outputOptions(['-map', '0:a:0', '-c', 'copy'])
      .format('null')
      .output('-')
      .on('stderr', (line: string) => {
        seconds = timemarkSeconds(line) ?? seconds;
      })
      .on('error', (err: Error) => reject(classifyFfmpegError(err, file)))
      .on('end', () => resolve(seconds))
      .run();
  });
}

/** Size of the `data` chunk of a WAV file written by ffmpeg (which fills in the sizes). */
async function wavDataBytes(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    let offset = 12; // past "RIFF" <size> "WAVE"
    while (offset + 8 <= bytesRead) {
      const id = header.toString('ascii', offset, offset + 4);
      const size = header.readUInt32LE(offset + 4);
      if (id === 'data') return size;
      offset += 8 + size + (size % 2);
    }
    throw new Error(`ffmpeg wrote a WAV file without a data chunk: ${file}`);
  } finally {
    await handle.close();
  }
}

function timemarkSeconds(line: string): number | undefined {
  const match = /time=\s*(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  if (!match) return undefined;
  const [, sign, h, m, s] = match;
  if (sign === '-') return 0;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

function positiveSeconds(value: unknown): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The first line that says something, without ffmpeg's banner noise or our temp path. */
function firstMeaningfulLine(lines: string[], file: string): string | undefined {
  const line = lines.map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith('['));
  return line?.replace(`${file}: `, '').split(file).join(basename(file));
}

function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  const clock = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return `${seconds.toFixed(1)} s (${clock})`;
}

export interface CompressOptions {
  /** Opus bitrate, e.g. 64 kbps mono: 1/4 of 16 kHz PCM's size, speech kept intact. */
  bitrateKbps: number;
  /** Only this part of the input (seconds); the whole file when omitted. */
  span?: { startS: number; endS: number };
  signal?: AbortSignal;
}

/**
 * Re-encodes (part of) a normalised WAV as mono Opus in Ogg, for engines behind a request
 * size limit (the OpenAI API takes at most 25 MB per file). Opus in `voip` mode keeps
 * speech clearer than MP3 at the same bitrate. Streams disk to disk.
 */
export function compressAudio(wav: string, output: string, opts: CompressOptions): Promise<void> {
  const { bitrateKbps, span, signal } = opts;
  const seek = span
    ? ['-ss', span.startS.toFixed(3), '-t', (span.endS - span.startS).toFixed(3)]
    : [];
  const command = ffmpeg(wav)
    .inputOptions(['-nostdin', ...seek])
    .outputOptions(['-map', '0:a:0', '-ac', '1', '-ar', '16000', '-acodec', 'libopus'])
    // Constant bitrate: the size of a piece is known before it is made.
    .outputOptions(['-b:a', `${bitrateKbps}k`, '-vbr', 'off', '-application', 'voip'])
    .format('ogg')
    .output(output);
  return runFfmpeg(command, { input: wav, output, signal });
}
