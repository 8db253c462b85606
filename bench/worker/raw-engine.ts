// The raw engine, nothing of ours: ffmpeg decodes the recording to 16 kHz mono PCM and
// pipes it straight into `pocketsphinx_continuous` (one model load, decode and
// recognition overlapped on two processes): the fastest way to run the same engine on
// the same file by hand.
import { spawn } from 'node:child_process';

export async function rawSphinx(file: string): Promise<{ wallS: number; words: number }> {
  const started = performance.now();
  const script =
    'ffmpeg -nostdin -v error -i "$1" -f s16le -ac 1 -ar 16000 - | pocketsphinx_continuous -infile /dev/stdin -logfn /dev/null';
  const child = spawn('sh', ['-c', script, 'raw', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`raw pocketsphinx exited with ${code}`);
  return {
    wallS: (performance.now() - started) / 1000,
    words: out.split(/\s+/).filter(Boolean).length,
  };
}
