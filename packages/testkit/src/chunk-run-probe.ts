// Tells when the same audio is being transcribed twice at once, from outside the worker.
// The worker spawns `pocketsphinx_continuous` through PATH; a wrapper put first in the
// workers' PATH takes an flock named after a hash of the input WAV and then execs the
// real binary, which keeps the lock (fd 9 is inherited across exec) for exactly as long
// as the transcription runs. A run that finds the lock taken started while another run
// of the same audio was still going: a concurrent double run. Chunk WAVs are cut
// deterministically from the stored chunk plan, so the same chunk of the same job has
// the same bytes on every attempt and every worker; jobs must upload distinct audio
// (see fault-audio.ts) so that different jobs never share a key.
import { constants, existsSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** One start of pocketsphinx, as the wrapper recorded it. */
export interface ChunkRun {
  /** Epoch ms. */
  at: number;
  /** First 16 hex digits of the input WAV's sha1. */
  key: string;
  /** The pocketsphinx process. */
  pid: number;
  /** Its parent: the worker process that ran it. */
  workerPid: number;
  /** Another run of the same audio held the lock when this one started. */
  concurrent: boolean;
}

export interface ChunkRunProbe {
  /** Put this first in the workers' PATH. */
  binDir: string;
  runs(): Promise<ChunkRun[]>;
  close(): Promise<void>;
}

export interface ChunkRunSummary {
  runs: number;
  /** Runs that started while the same audio was being transcribed elsewhere. */
  concurrent: ChunkRun[];
  /** Runs of audio that had been transcribed before (a retry or takeover; harmless alone). */
  reruns: number;
}

async function findOnPath(name: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found on PATH`);
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Writes the wrapper and its log/lock folders under a fresh temp directory. */
export async function createChunkRunProbe(
  options: { binary?: string; flock?: string } = {},
): Promise<ChunkRunProbe> {
  const real = options.binary ?? (await findOnPath('pocketsphinx_continuous'));
  const flock = options.flock ?? (await findOnPath('flock'));
  const root = await mkdtemp(join(tmpdir(), 'chunk-runs-'));
  const binDir = join(root, 'bin');
  const lockDir = join(root, 'locks');
  const log = join(root, 'runs.log');
  await mkdir(binDir);
  await mkdir(lockDir);
  await writeFile(log, '');
  const script = `#!/bin/sh
# Written by the fault suite (chunk-run-probe.ts): records each run, then becomes pocketsphinx.
in=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-infile" ]; then in="$a"; fi
  prev="$a"
done
key=$(sha1sum "$in" 2>/dev/null | cut -c1-16)
if [ -n "$key" ]; then
  exec 9>>${quote(lockDir)}/"$key"
  if ${quote(flock)} -n 9; then busy=0; else busy=1; fi
  printf 'start %s %s %s %s %s\\n' "$(date +%s%3N)" "$key" "$$" "$PPID" "$busy" >> ${quote(log)}
fi
exec ${quote(real)} "$@"
`;
  const wrapper = join(binDir, 'pocketsphinx_continuous');
  await writeFile(wrapper, script);
  await chmod(wrapper, 0o755);

  return {
    binDir,
    async runs() {
      if (!existsSync(log)) return [];
      return parseRuns(await readFile(log, 'utf8'));
    },
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

export function parseRuns(text: string): ChunkRun[] {
  const runs: ChunkRun[] = [];
  for (const line of text.split('\n')) {
    const m = /^start (\d+) ([0-9a-f]+) (\d+) (\d+) ([01])$/.exec(line.trim());
    if (!m) continue;
    runs.push({
      at: Number(m[1]),
      key: m[2]!,
      pid: Number(m[3]),
      workerPid: Number(m[4]),
      concurrent: m[5] === '1',
    });
  }
  return runs;
}

/** Runs started in [from, to] (epoch ms), counted. */
export function summarizeRuns(runs: readonly ChunkRun[], from = 0, to = Infinity): ChunkRunSummary {
  const seen = new Set<string>();
  let reruns = 0;
  const inWindow = runs.filter((r) => r.at >= from && r.at <= to);
  for (const run of [...runs].sort((a, b) => a.at - b.at)) {
    if (run.at > to) break;
    if (seen.has(run.key) && run.at >= from) reruns++;
    seen.add(run.key);
  }
  return { runs: inWindow.length, concurrent: inWindow.filter((r) => r.concurrent), reruns };
}
