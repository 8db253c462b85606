// Summarises a .cpuprofile (node --cpu-prof): self time by function and by package (shares of
// the time the process was not idle), the
// top frames, for BENCHMARKS.md. Usage: node bench/lib/profile-summary.js <file>
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const all = profile.nodes.reduce((a, n) => a + n.hitCount, 0);
const idle = profile.nodes
  .filter((n) => n.callFrame.functionName === '(idle)')
  .reduce((a, n) => a + n.hitCount, 0);
// Shares of the busy time: what the process spent its CPU on, not how long it waited.
const total = all - idle;
const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const n of profile.nodes) {
  const { functionName, url, lineNumber } = n.callFrame;
  if (functionName === '(idle)') continue;
  const pkg =
    /node_modules\/\.pnpm\/([^/]+)/.exec(url)?.[1]?.replace(/@[\d.]+.*$/, '') ??
    (/\/(packages|services)\/([^/]+)\//.exec(url)?.slice(1).join('/') ||
      (url.startsWith('node:')
        ? 'node:' + url.slice(5).split('/')[0]
        : url
          ? url
          : `(${functionName || 'native'})`));
  const fn = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + n.hitCount);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + n.hitCount);
}
const top = (m: Map<string, number>, k: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
    .join('\n');
console.log(
  `samples: ${all}, idle ${((idle / all) * 100).toFixed(1)} % (shares below: of the busy rest)\n\nby package (self time):\n${top(byPkg, 25)}\n\nby function (self time):\n${top(byFn, 30)}`,
);
