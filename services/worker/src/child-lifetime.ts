// Engine and ffmpeg children must not outlive the worker, even one killed with SIGKILL
// (no handler runs then). Linux's parent-death signal does it from the child's side:
// util-linux `setpriv --pdeathsig KILL -- cmd …` sets it and execs cmd, which keeps it.
// Node forks its children from the main thread, the one whose exit the signal follows.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let prefix: readonly string[] | undefined;

/**
 * The command prefix that ties a child's life to this process (`setpriv --pdeathsig
 * KILL --`), or none where setpriv is missing or refuses (not Linux, no util-linux):
 * children then still die on every path the worker survives (abort, cancel, timeout).
 */
export function parentDeathPrefix(): readonly string[] {
  if (prefix) return prefix;
  const candidate = ['setpriv', '--pdeathsig', 'KILL', '--'];
  const probe = spawnSync(candidate[0]!, [...candidate.slice(1), 'true'], { stdio: 'ignore' });
  prefix = probe.status === 0 ? candidate : [];
  return prefix;
}

/**
 * fluent-ffmpeg spawns a configured path with no room for a prefix, so the prefix goes
 * into tiny wrapper scripts (`exec setpriv … -- ffmpeg "$@"`, one exec chain, same pid).
 * Undefined when there is no prefix to apply or the scripts cannot be written.
 */
export async function writeParentDeathWrappers(
  dir: string,
  binaries: { ffmpeg: string; ffprobe: string },
): Promise<{ ffmpeg: string; ffprobe: string } | undefined> {
  const wrap = parentDeathPrefix();
  if (wrap.length === 0) return undefined;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await mkdir(dir, { recursive: true });
  const write = async (name: string, target: string) => {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\nexec ${[...wrap, target].map(quote).join(' ')} "$@"\n`);
    await chmod(file, 0o755);
    // A scratch mount with noexec would make every job fail: check the script runs.
    const check = spawnSync(file, ['-version'], { stdio: 'ignore' });
    if (check.status !== 0) throw new Error(`${file} does not run (status ${check.status})`);
    return file;
  };
  try {
    return {
      ffmpeg: await write('ffmpeg', binaries.ffmpeg),
      ffprobe: await write('ffprobe', binaries.ffprobe),
    };
  } catch {
    return undefined;
  }
}
