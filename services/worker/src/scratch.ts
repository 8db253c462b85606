// Each worker process keeps its temporary files under a folder of its own, named after
// the host, its pid and the pid's start time, so a later start can tell a dead worker's
// leftovers (SIGKILL, OOM: no cleanup ran) from a live neighbour's on a shared TMP_DIR.
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const PATTERN = /^worker-(.+)-(\d+)-(\d+)$/;

/** Clock ticks after boot at which `pid` started (/proc/<pid>/stat, field 22); undefined when gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, started: string): boolean {
  const now = startTime(pid);
  if (now !== undefined) return now === started;
  if (started !== '0') return false; // /proc readable for ourselves but not this pid: gone
  try {
    process.kill(pid, 0); // no /proc (not Linux): the pid alone decides
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process's scratch folder name. */
export function scratchName(pid = process.pid): string {
  return `worker-${hostname().replace(/[^A-Za-z0-9.]/g, '_')}-${pid}-${startTime(pid) ?? '0'}`;
}

/**
 * Removes the scratch folders of this host's workers that are gone, then creates this
 * process's own. Folders of other hosts (a shared volume) are left to their own hosts.
 */
export async function prepareScratch(
  root: string = tmpdir(),
): Promise<{ dir: string; removed: string[] }> {
  await mkdir(root, { recursive: true });
  const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
  const removed: string[] = [];
  for (const entry of await readdir(root)) {
    const match = PATTERN.exec(entry);
    if (!match || match[1] !== host) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || isAlive(pid, match[3]!)) continue;
    await rm(join(root, entry), { recursive: true, force: true });
    removed.push(entry);
  }
  const dir = join(root, scratchName());
  await rm(dir, { recursive: true, force: true }); // a dead namesake's (same pid and start: not us)
  await mkdir(dir, { recursive: true });
  return { dir, removed };
}
