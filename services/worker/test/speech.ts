// Real speech recordings for the worker's tests and benchmark, made from Debian's
// LibriVox clips (pocketsphinx-testdata) with ffmpeg.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { librivoxClips } from '../../../packages/testkit/src/index.js';

const run = promisify(execFile);

/** A stretch of a recording and the words spoken in it. */
export interface SpokenSpan {
  startS: number;
  endS: number;
  reference: string;
}

export interface Recording {
  file: string;
  /** Reference transcript of the whole recording. */
  reference: string;
  /** Where each pause between clips lies. */
  gaps: { startS: number; endS: number }[];
  /** Where each clip lies, with its own reference transcript. */
  clips: SpokenSpan[];
  durationS: number;
}

/**
 * The five LibriVox clips `rounds` times over, each followed by `gapS` of silence, as a
 * 16 kHz mono WAV: a recording of `rounds` × ~28 s whose pauses we know.
 */
export async function joinLibrivox(file: string, rounds: number, gapS = 0.8): Promise<Recording> {
  const clips = librivoxClips();
  const inputs: string[] = [];
  const filters: string[] = [];
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const clip of clips) {
      inputs.push('-i', clip.wav);
      filters.push(`[${n}:a]aresample=16000,apad=pad_dur=${gapS}[a${n}]`);
      n++;
    }
  }
  const labels = Array.from({ length: n }, (_, i) => `[a${i}]`).join('');
  await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    `${filters.join(';')};${labels}concat=n=${n}:v=0:a=1[out]`,
    '-map',
    '[out]',
    '-ac',
    '1',
    '-ar',
    '16000',
    '-acodec',
    'pcm_s16le',
    file,
  ]);
  const lengths = await Promise.all(clips.map((c) => durationOf(c.wav)));
  const gaps: Recording['gaps'] = [];
  const spans: SpokenSpan[] = [];
  let t = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [i, length] of lengths.entries()) {
      spans.push({ startS: t, endS: t + length, reference: clips[i]!.reference });
      t += length;
      gaps.push({ startS: t, endS: t + gapS });
      t += gapS;
    }
  }
  const reference = Array.from({ length: rounds }, () => clips.map((c) => c.reference).join(' '));
  return {
    file,
    reference: reference.join(' '),
    gaps,
    clips: spans,
    durationS: await durationOf(file),
  };
}

export async function durationOf(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}
