// The processes below a pid (children, grandchildren…), read from /proc: how a test finds
// a worker's engine whatever its command line (a resident decoder names no job file).
import { readdir, readFile } from 'node:fs/promises';

export interface Descendant {
  pid: number;
  cmd: string;
  zombie: boolean;
}

export async function descendantsOf(root: number): Promise<Descendant[]> {
  const all: { pid: number; ppid: number; zombie: boolean }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may contain spaces: the state and ppid follow the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    all.push({ pid: Number(entry), ppid: Number(ppid), zombie: state === 'Z' });
  }
  const found: Descendant[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const p of all.filter((q) => q.ppid === parent)) {
      const cmd = await readFile(`/proc/${p.pid}/cmdline`, 'utf8').catch(() => '');
      found.push({ pid: p.pid, cmd: cmd.replace(/\0/g, ' '), zombie: p.zombie });
      frontier.push(p.pid);
    }
  }
  return found;
}

/** Whether `pid` still runs (a zombie does not). */
export async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
