// Real speech for the fault suite, each job's file distinct: the chunk-run probe tells
// chunks apart by a hash of their audio, so two jobs must never upload the same samples.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { librivoxClips } from './wer.js';
import { audioFixture } from './fixtures.js';

const run = promisify(execFile);

export interface FaultAudio {
  /** A short clip (3–7 s of LibriVox or JFK), made distinct by a per-call gain. */
  short(): Promise<string>;
  /** About `seconds` of speech: LibriVox clips in turn, distinct like `short()`. */
  long(seconds: number): Promise<string>;
  close(): Promise<void>;
}

export async function createFaultAudio(): Promise<FaultAudio> {
  const dir = await mkdtemp(join(tmpdir(), 'fault-audio-'));
  const clips = [...librivoxClips().map((c) => c.wav), audioFixture('jfk.wav')];
  let n = 0;

  /**
   * ffmpeg with a gain of 1 + n/2000: inaudible, but it changes the samples, so no two
   * files (nor their normalised chunks) hash alike. Wraps around after 2000 files.
   */
  const render = async (inputs: string[]) => {
    const index = n++;
    const out = join(dir, `a${index}.wav`);
    const gain = 1 + ((index % 2000) + 1) / 2000;
    const filter = `${inputs.map((_, i) => `[${i}:a]`).join('')}concat=n=${inputs.length}:v=0:a=1,volume=${gain.toFixed(4)}`;
    await run('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      ...inputs.flatMap((file) => ['-i', file]),
      '-filter_complex',
      filter,
      '-ac',
      '1',
      '-ar',
      '16000',
      '-c:a',
      'pcm_s16le',
      out,
    ]);
    return out;
  };

  return {
    short: () => render([clips[n % clips.length]!]),
    async long(seconds) {
      // The LibriVox clips average about 5 s.
      const count = Math.max(1, Math.ceil(seconds / 5));
      return render(Array.from({ length: count }, (_, i) => clips[(n + i) % (clips.length - 1)]!));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
