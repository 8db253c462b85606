#!/usr/bin/env node
// Runs a built entry point of the workspace, rebuilding first only when a source is newer
// than its project's build: `pnpm transcribe --help` used to run a whole `tsc -b` (seconds
// to half a minute) before printing two dozen lines.
//
//   node scripts/run-built.mjs [--in-caller-dir] <dist entry> [args…]
//
// --in-caller-dir: run from the directory pnpm was called from (INIT_CWD) rather than the
// workspace root pnpm switches to, so relative paths on the command line mean what the
// caller meant.
//
// The up-to-date check reads only mtimes (no TypeScript load): for every project of the
// root tsconfig.json, its src/ tree (files and directories, so a deleted file counts too),
// tsconfig.json and package.json against its tsbuildinfo; the shared tsconfig files and the
// lockfile against the oldest tsbuildinfo. Anything newer, or a tsbuildinfo missing, runs
// `tsc -b`; tsc then decides what actually needs compiling.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// tsc -b leaves a tsbuildinfo untouched when a newer file changed nothing it compiles (a
// script in package.json, a comment-only edit it proves harmless): this stamp, dated when
// the last successful build started, says "everything older was built".
const stampOf = (workspace) => join(workspace, 'node_modules', '.cache', 'run-built', 'built-at');

/** mtime in ms, or undefined when the path does not exist. */
function mtimeOf(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Newest mtime of a directory tree, directories included. */
function newestUnder(dir) {
  let newest = mtimeOf(dir) ?? 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return newest;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newestUnder(path) : (mtimeOf(path) ?? 0);
    if (t > newest) newest = t;
  }
  return newest;
}

/** Where a project's tsbuildinfo lives: its tsconfig's tsBuildInfoFile, else dist/. */
function buildInfoOf(projectDir) {
  const config = readFileSync(join(projectDir, 'tsconfig.json'), 'utf8');
  const configured = /"tsBuildInfoFile"\s*:\s*"([^"]+)"/.exec(config)?.[1];
  return join(projectDir, configured ?? 'dist/tsconfig.tsbuildinfo');
}

/** Why a build is needed, or undefined when every project's build is newer than its inputs. */
function staleReason(workspace) {
  // The root tsconfig.json is JSON without comments here; its references are the projects.
  const { references = [] } = JSON.parse(readFileSync(join(workspace, 'tsconfig.json'), 'utf8'));
  const stamped = mtimeOf(stampOf(workspace)) ?? 0;
  let oldestBuild = Infinity;
  for (const { path } of references) {
    const dir = join(workspace, path);
    const info = mtimeOf(buildInfoOf(dir));
    if (info === undefined) return `${path} has never been built`;
    const built = Math.max(info, stamped);
    oldestBuild = Math.min(oldestBuild, built);
    const inputs = Math.max(
      newestUnder(join(dir, 'src')),
      mtimeOf(join(dir, 'tsconfig.json')) ?? 0,
      mtimeOf(join(dir, 'package.json')) ?? 0,
    );
    if (inputs > built) return `${path} changed since its build`;
  }
  for (const shared of ['tsconfig.json', 'tsconfig.base.json', 'package.json', 'pnpm-lock.yaml']) {
    if ((mtimeOf(join(workspace, shared)) ?? 0) > oldestBuild) return `${shared} changed`;
  }
  return undefined;
}

function build(reason) {
  process.stderr.write(`run-built: ${reason}; building (tsc -b)…\n`);
  const startedAt = new Date();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('run-built: the build failed; not running stale code\n');
    process.exit(result.status ?? 1);
  }
  const stamp = stampOf(root);
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, `${startedAt.toISOString()}\n`);
  utimesSync(stamp, startedAt, startedAt);
}

async function main(argv) {
  const inCallerDir = argv[0] === '--in-caller-dir';
  const [entryArg, ...args] = inCallerDir ? argv.slice(1) : argv;
  if (!entryArg) {
    process.stderr.write('usage: run-built.mjs [--in-caller-dir] <dist entry> [args…]\n');
    process.exit(2);
  }
  const entry = resolve(root, entryArg);
  const reason = staleReason(root);
  if (reason) build(reason);
  if (inCallerDir && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  // The entry reads its arguments from process.argv, as if node had been given it directly.
  process.argv = [process.argv[0], entry, ...args];
  await import(pathToFileURL(entry).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
