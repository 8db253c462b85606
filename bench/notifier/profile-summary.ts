// Summarises a .cpuprofile: self time by function (top 25) and by file, as percentages.
// Run: node bench/notifier/profile-summary.js <file.cpuprofile>
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[] };
const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '')
    .replace(/^file:\/\/.*\/(services|packages)\//, '$1/');
  const fn = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  byFile.set(file || '(native)', (byFile.get(file || '(native)') ?? 0) + hits);
}
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
console.log(`samples: ${total}\n-- self time by function --\n${top(byFunction, 25).join('\n')}`);
console.log(`-- by file --\n${top(byFile, 15).join('\n')}`);
