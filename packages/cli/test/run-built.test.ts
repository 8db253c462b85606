// scripts/run-built.mjs, the launcher behind `pnpm transcribe|stack|demo|migrate`: it builds
// only when a source is newer than the build, never runs code whose build failed, and hands
// the entry its own arguments. Run on a copy in a scratch workspace whose `tsc` is a stub
// that logs each call, so no real build happens.
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const LAUNCHER = join(__dirname, '..', '..', '..', 'scripts', 'run-built.mjs');
let ws: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(ws, path)), { recursive: true });
  writeFileSync(join(ws, path), text);
}
/** Sets a file's (or directory's) mtime to `secondsAgo` before now. */
function age(path: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(join(ws, path), t, t);
}
function builds(): number {
  try {
    return readFileSync(join(ws, 'builds.log'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

function launch(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [join(ws, 'scripts', 'run-built.mjs'), 'packages/a/dist/main.js', ...args],
    { cwd: ws, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

beforeAll(() => {
  ws = mkdtempSync(join(tmpdir(), 'run-built-'));
  cpSync(LAUNCHER, join(ws, 'scripts', 'run-built.mjs'));
  write('package.json', '{"type":"module"}\n');
  write('tsconfig.base.json', '{}\n');
  write('tsconfig.json', '{"files":[],"references":[{"path":"packages/a"}]}\n');
  write('packages/a/package.json', '{"type":"module"}\n');
  write(
    'packages/a/tsconfig.json',
    '{"compilerOptions":{"tsBuildInfoFile":"dist/.tsbuildinfo"}}\n',
  );
  write('packages/a/src/a.ts', 'export const a = 1;\n');
  write(
    'packages/a/dist/main.js',
    'console.log(JSON.stringify({ script: process.argv[1], args: process.argv.slice(2), cwd: process.cwd() }));\n',
  );
  // The stub tsc: logs the call; "builds" (writes the tsbuildinfo) unless told to fail.
  write('node_modules/typescript/package.json', '{"type":"commonjs"}\n');
  write(
    'node_modules/typescript/bin/tsc',
    `const fs = require('node:fs');
     fs.appendFileSync('builds.log', process.argv.slice(2).join(' ') + '\\n');
     if (process.env.STUB_TSC_FAIL) process.exit(1);
     if (!fs.existsSync('packages/a/dist/.tsbuildinfo')) fs.writeFileSync('packages/a/dist/.tsbuildinfo', '{}');`,
  );
  for (const f of [
    'package.json',
    'tsconfig.base.json',
    'tsconfig.json',
    'packages/a/package.json',
    'packages/a/tsconfig.json',
    'packages/a/src/a.ts',
    'packages/a/src',
  ])
    age(f, 100);
});
afterAll(() => rmSync(ws, { recursive: true, force: true }));

it('builds what was never built, then runs the entry with its own arguments', async () => {
  const res = await launch(['one', '--two', 'three']);
  expect(res.stderr).toContain('packages/a has never been built; building (tsc -b)');
  expect(builds()).toBe(1);
  expect(JSON.parse(res.stdout)).toEqual({
    script: join(ws, 'packages', 'a', 'dist', 'main.js'),
    args: ['one', '--two', 'three'],
    cwd: ws,
  });
  expect(res.code).toBe(0);
});

it('does not build again while nothing changed', async () => {
  const res = await launch(['again']);
  expect({ code: res.code, stderr: res.stderr, builds: builds() }).toEqual({
    code: 0,
    stderr: '',
    builds: 1,
  });
  expect(JSON.parse(res.stdout).args).toEqual(['again']);
});

it('builds once after an edit, even when tsc leaves its tsbuildinfo as it was', async () => {
  age('packages/a/dist/.tsbuildinfo', 50);
  age('node_modules/.cache/run-built/built-at', 50);
  age('packages/a/src/a.ts', 10);
  const first = await launch([]);
  expect(first.stderr).toContain('packages/a changed since its build');
  expect(builds()).toBe(2);
  // The stub did not touch the tsbuildinfo (as tsc -b does when the edit changed nothing
  // it emits); the launcher's stamp still says the build is current.
  const second = await launch([]);
  expect({ stderr: second.stderr, builds: builds() }).toEqual({ stderr: '', builds: 2 });
});

it('counts a deleted source and a changed root tsconfig as changes', async () => {
  write('packages/a/src/b.ts', 'export const b = 2;\n');
  age('packages/a/dist/.tsbuildinfo', 50);
  age('node_modules/.cache/run-built/built-at', 50);
  rmSync(join(ws, 'packages/a/src/b.ts'));
  expect((await launch([])).stderr).toContain('packages/a changed since its build');
  expect(builds()).toBe(3);

  age('packages/a/dist/.tsbuildinfo', 50);
  age('node_modules/.cache/run-built/built-at', 50);
  age('packages/a/src', 60);
  age('packages/a/src/a.ts', 60);
  age('tsconfig.base.json', 5);
  expect((await launch([])).stderr).toContain('tsconfig.base.json changed');
  expect(builds()).toBe(4);
});

it('never runs the entry when the build fails', async () => {
  age('packages/a/dist/.tsbuildinfo', 50);
  age('node_modules/.cache/run-built/built-at', 50);
  age('packages/a/src/a.ts', 10);
  const res = await launch([], { STUB_TSC_FAIL: '1' });
  expect(res.code).toBe(1);
  expect(res.stdout).toBe('');
  expect(res.stderr).toContain('the build failed; not running stale code');
});

it('--in-caller-dir runs the entry from INIT_CWD (where pnpm was called)', async () => {
  write('packages/a/src/a.ts', 'export const a = 1;\n'); // build again, without the failure
  const caller = mkdtempSync(join(tmpdir(), 'run-built-caller-'));
  try {
    const child = spawn(
      process.execPath,
      [join(ws, 'scripts', 'run-built.mjs'), '--in-caller-dir', 'packages/a/dist/main.js', 'x.wav'],
      { cwd: ws, env: { ...process.env, INIT_CWD: caller }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ args: ['x.wav'], cwd: caller });
  } finally {
    rmSync(caller, { recursive: true, force: true });
  }
});
