// Which processes are alive is how tests see that a child (ffmpeg, pocketsphinx) was killed
// and reaped, or left behind: read from /proc, so Linux only.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessEntry {
  pid: number;
  /** Its command line, arguments separated by spaces. */
  cmd: string;
  /** Dead but not yet reaped by its parent. */
  zombie: boolean;
}

/** Processes whose command line contains `needle` (a scratch path, a file name). */
export async function processesMentioning(needle: string): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(needle)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    found.push({ pid: Number(entry), cmd: cmd.replace(/\0/g, ' '), zombie: state === 'Z' });
  }
  return found;
}
