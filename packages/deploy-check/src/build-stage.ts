import { exec } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { isIgnored, type Dockerfile } from './dockerfile.js';

export interface BuildStageOptions {
  /** The build context (the repo root). */
  context: string;
  /** Stands in for the image's `/`: container paths are mapped under it. */
  sandbox: string;
  /** The stage to run. */
  stage: string;
  /** Container folders the stage writes to (its WORKDIR, its outputs), mapped in RUN commands. */
  mapPaths: string[];
  /** RUN commands to leave out, e.g. ones that change this machine's global state. */
  skipRun?: (command: string) => boolean;
  /** Called before each step, for progress output. */
  onStep?: (step: string) => void;
}

/**
 * Runs one Dockerfile stage on this machine, without Docker: the build context is copied
 * as .dockerignore filters it, then ENV, WORKDIR, COPY (from the context) and RUN are
 * carried out with every container path mapped under `sandbox`. For a build stage that
 * only runs portable commands (pnpm, tsc), this produces what the image build would.
 */
export async function runStage(file: Dockerfile, options: BuildStageOptions): Promise<void> {
  const stage = file.stages.find((s) => s.name === options.stage);
  if (!stage) throw new Error(`no stage ${options.stage}`);
  const context = join(options.sandbox, '.context');
  copyContext(
    options.context,
    context,
    readFileSync(join(options.context, '.dockerignore'), 'utf8'),
  );

  const inSandbox = (p: string) => join(options.sandbox, p);
  const env: Record<string, string> = {};
  let workdir = '/';
  for (const step of stage.instructions) {
    options.onStep?.(`${step.keyword} ${step.raw}`);
    if (step.keyword === 'ENV') {
      for (const pair of step.args) {
        const [key = '', ...value] = pair.split('=');
        env[key] = value.join('=');
      }
    } else if (step.keyword === 'WORKDIR') {
      workdir = posix.resolve(workdir, step.args[0] ?? '/');
      mkdirSync(inSandbox(workdir), { recursive: true });
    } else if (step.keyword === 'COPY' && !step.flags.from) {
      const dest = posix.resolve(workdir, step.args.at(-1) ?? '.');
      const sources = step.args.slice(0, -1);
      for (const source of sources) {
        const from = join(context, source);
        // `COPY a b ./` copies files into the folder; `COPY dir ./dir` copies the folder's contents.
        const to =
          sources.length > 1 || step.args.at(-1)?.endsWith('/')
            ? join(inSandbox(dest), posix.basename(source))
            : inSandbox(dest);
        mkdirSync(dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    } else if (step.keyword === 'RUN') {
      if (options.skipRun?.(step.raw)) continue;
      let command = step.raw;
      for (const path of options.mapPaths) {
        command = command.replace(
          new RegExp(`(^|[\\s"'=])${path}(?=[/\\s"']|$)`, 'g'),
          `$1${inSandbox(path)}`,
        );
      }
      await promisify(exec)(command, {
        cwd: inSandbox(workdir),
        env: { ...process.env, ...env },
        shell: '/bin/sh',
        maxBuffer: 64 << 20,
      });
    } else {
      throw new Error(`${step.keyword} is not supported in a stage run without Docker`);
    }
  }
}

function copyContext(from: string, to: string, dockerignore: string, rel = ''): void {
  mkdirSync(join(to, rel), { recursive: true });
  for (const entry of readdirSync(join(from, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (isIgnored(path, dockerignore)) continue;
    if (entry.isDirectory()) copyContext(from, to, dockerignore, path);
    else if (entry.isFile()) cpSync(join(from, path), join(to, path));
  }
}
