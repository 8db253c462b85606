import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { librivoxClips } from '../../../../packages/testkit/src/index.js';

const run = promisify(execFile);

/**
 * Debian's LibriVox test clips (all five, ~25 s and ~70 words, or those whose file names
 * end in one of `only`) joined into one 16 kHz mono WAV, the form media.ts hands to
 * engines, with the joined reference transcript.
 */
export async function librivoxWav(
  dir: string,
  only?: string[],
): Promise<{ wav: string; reference: string }> {
  const clips = librivoxClips().filter(
    (c) => !only || only.some((suffix) => c.wav.endsWith(suffix)),
  );
  const wav = join(dir, `librivox-${clips.length}.wav`);
  const inputs = clips.flatMap((c) => ['-i', c.wav]);
  const filter = `${clips.map((_, i) => `[${i}:a]`).join('')}concat=n=${clips.length}:v=0:a=1`;
  await run('ffmpeg', [
    ...['-nostdin', '-v', 'error', ...inputs, '-filter_complex', filter],
    ...['-ac', '1', '-ar', '16000', '-acodec', 'pcm_s16le', wav],
  ]);
  return { wav, reference: clips.map((c) => c.reference).join(' ') };
}
