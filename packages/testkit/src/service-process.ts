import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

export type ServiceName = 'gateway' | 'worker' | 'notifier';

/** How a service process ended. */
export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<ServiceExit>;
  /** Recent output lines, shown when a service dies unexpectedly. */
  output(): string;
  /** SIGTERM and wait for exit; SIGKILL to the whole group after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL to the process group (the service and anything it spawned), like a container kill. */
  kill(): Promise<void>;
}

export interface StartServiceOptions {
  inheritOutput?: boolean;
  /**
   * How long the service may take to answer its readiness URL. The default is generous
   * (SERVICE_START_TIMEOUT_S, else 180 s): a busy machine can take a minute to load Node.
   */
  timeoutMs?: number;
  /** Abandons the start: the half-started process is killed and the call rejects. */
  signal?: AbortSignal;
  /** How many recent output lines `output()` keeps (default 200). */
  outputLines?: number;
  /** Called with every complete output line (stdout and stderr), e.g. to scan logs. */
  onLine?: (line: string) => void;
}

// Process groups still alive: killed when this process exits or is interrupted, so a
// crashed or interrupted test run leaves no service (or pocketsphinx) behind.
const liveGroups = new Set<number>();
let reaperInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const killAll = () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
    liveGroups.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // A program with its own handler (`pnpm stack`) stops its services gracefully and
      // exits; the exit hook above is then its backstop.
      if (process.listenerCount(signal) > 0) return;
      killAll();
      // Then the signal's usual effect (or whatever else listens for it).
      process.kill(process.pid, signal);
    });
  }
}

let deathPrefix: string[] | undefined;

/**
 * The exit reaper cannot run when this process is SIGKILLed, and the services lead their
 * own groups; `setpriv --pdeathsig TERM` has the kernel send each one SIGTERM (a clean
 * shutdown) when its parent dies, so not even then is a worker left consuming the queue.
 */
function diesWithParent(): string[] {
  if (deathPrefix) return deathPrefix;
  const prefix = ['setpriv', '--pdeathsig', 'TERM', '--'];
  const ok = spawnSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore' }).status === 0;
  deathPrefix = ok ? prefix : [];
  return deathPrefix;
}

/**
 * Runs a built service (`services/<name>/dist/main.js`) as its own process, as in
 * production, and waits until its readiness URL answers 200. The process leads its own
 * group, so a kill takes the children it spawned (ffmpeg, pocketsphinx) with it.
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  readyUrl: string,
  options: StartServiceOptions = {},
): Promise<ServiceProcess> {
  installReaper();
  const main = join(repoRoot(), 'services', name, 'dist', 'main.js');
  const [command, ...args] = [...diesWithParent(), process.execPath, main];
  const child = spawn(command!, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid !== undefined) liveGroups.add(pid);
  const keep = options.outputLines ?? 200;
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    if (options.inheritOutput) process.stderr.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      options.onLine?.(line);
    }
    if (lines.length > keep) lines.splice(0, lines.length - keep);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code, signal]): ServiceExit => {
    // Whatever the service left running in its group goes with it.
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
    }
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const service: ServiceProcess = {
    name,
    child,
    exited,
    output: () => lines.join('\n'),
    async stop(graceMs = 15_000) {
      if (hasExited()) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => pid !== undefined && killGroup(pid, 'SIGKILL'), graceMs);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      await exited;
    },
  };

  const timeoutMs = options.timeoutMs ?? defaultStartTimeoutMs();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (options.signal?.aborted) {
      await service.kill();
      throw new Error(`${name}: start abandoned`);
    }
    if (hasExited()) {
      await exited;
      throw new Error(
        `${name} exited with ${child.exitCode ?? child.signalCode} before it was ready; its output:\n${service.output() || '(none)'}`,
      );
    }
    try {
      const res = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.kill();
      throw new Error(
        `${name} not ready at ${readyUrl} within ${Math.round(timeoutMs / 1000)} s ` +
          `(SERVICE_START_TIMEOUT_S); its output:\n${service.output() || '(none)'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SERVICE_START_TIMEOUT_S from the environment, else 180 s. */
export function defaultStartTimeoutMs(): number {
  const raw = process.env.SERVICE_START_TIMEOUT_S;
  const seconds = raw === undefined || raw === '' ? 180 : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`SERVICE_START_TIMEOUT_S: expected a positive number of seconds, got "${raw}"`);
  return seconds * 1000;
}
