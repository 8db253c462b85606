import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The workspace root: the nearest folder above the working directory with pnpm-workspace.yaml. */
export function repoRoot(from = process.cwd()): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = parent;
  }
}
