import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Any media → 16 kHz mono s16le WAV with ffmpeg alone: what pocketsphinx reads. */
export async function decodeToSpeechWav(input: string, wav: string): Promise<void> {
  await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-i',
    input,
    '-vn',
    '-ac',
    '1',
    '-ar',
    '16000',
    '-acodec',
    'pcm_s16le',
    wav,
  ]);
}

/**
 * The baseline for speech tests: ffmpeg decodes to 16 kHz mono, then pocketsphinx runs
 * directly on it, with nothing of ours in between. Returns the recognised words.
 */
export async function rawSphinxTranscript(file: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raw-sphinx-'));
  try {
    const wav = join(dir, 'audio.wav');
    await decodeToSpeechWav(file, wav);
    const { stdout } = await run(
      'pocketsphinx_continuous',
      ['-infile', wav, '-logfn', '/dev/null'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    // Without -time, stdout is one hypothesis line per utterance.
    return stdout
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
