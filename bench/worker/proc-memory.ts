// Resident memory of a process and its children, read from /proc (Linux only): VmHWM is
// the kernel's exact peak of one process so far; a tree's peak is sampled.
import { readdir, readFile } from 'node:fs/promises';

export async function procStatusKb(pid: number): Promise<{ rssKb: number; hwmKb: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** Every process below `root` (children, their children, …). */
export async function descendants(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may contain spaces; the ppid is the second field after ')'.
    parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [pid, pp] of parent) {
      if (pp === p) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/**
 * Samples `pid` and its descendants every `everyMs` until stopped: the node process's
 * VmHWM and the largest sum of the tree's VmRSS seen.
 */
export function watchMemory(pid: number, everyMs = 200) {
  let treePeakKb = 0;
  let nodeHwmKb = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const root = await procStatusKb(pid);
      nodeHwmKb = Math.max(nodeHwmKb, root.hwmKb);
      const kids = await descendants(pid);
      const rss = await Promise.all(kids.map(async (k) => (await procStatusKb(k)).rssKb));
      treePeakKb = Math.max(treePeakKb, root.rssKb + rss.reduce((a, b) => a + b, 0));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      nodeHwmKb = Math.max(nodeHwmKb, (await procStatusKb(pid)).hwmKb);
      return { nodeHwmKb, treePeakKb };
    },
  };
}
