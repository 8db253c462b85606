// Recordings of real speech of any length, made at run time: Debian's LibriVox clips
// (pocketsphinx-testdata) with short pauses between them, looped with ffmpeg.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { librivoxClips } from '../../packages/testkit/dist/index.js';

const run = promisify(execFile);
const ffmpeg = (...args: string[]) =>
  run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { maxBuffer: 1 << 20 });

/** The five clips with 0.8 s pauses, 16 kHz mono WAV (≈ 45 s), made once per folder. */
async function round(dir: string): Promise<string> {
  const out = join(dir, 'round.wav');
  if (await stat(out).catch(() => undefined)) return out;
  const clips = librivoxClips();
  const pads = clips.map((_, i) => `[${i}:a]aresample=16000,apad=pad_dur=0.8[a${i}]`);
  const labels = clips.map((_, i) => `[a${i}]`).join('');
  await ffmpeg(
    ...clips.flatMap((c) => ['-i', c.wav]),
    '-filter_complex',
    `${pads.join(';')};${labels}concat=n=${clips.length}:v=0:a=1[out]`,
    ...['-map', '[out]', '-ac', '1', '-ar', '16000', out],
  );
  return out;
}

/**
 * `seconds` of speech in `dir`: `mp3` (32 kb/s, what a user uploads through the form) or
 * `wav` (16 kHz mono, copied, so even 10 hours is made in seconds).
 */
export async function speech(dir: string, seconds: number, format: 'mp3' | 'wav'): Promise<string> {
  const out = join(dir, `speech-${seconds}s.${format}`);
  if (await stat(out).catch(() => undefined)) return out;
  const source = await round(dir);
  const codec = format === 'mp3' ? ['-c:a', 'libmp3lame', '-b:a', '32k'] : ['-c', 'copy'];
  await ffmpeg('-stream_loop', '-1', '-i', source, '-t', String(seconds), ...codec, out);
  return out;
}
