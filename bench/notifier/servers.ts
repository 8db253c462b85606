// The two servers the notifier suite measures: the notifier (its built main.js as a
// process, fed by the real producer path) and the bare `ws` server, behind one interface.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startService, type ServiceProcess } from '../../packages/testkit/dist/index.js';
import type { BareCommand, BareMessage } from './protocol.js';
import { profiledEnv } from '../lib/profiled-env.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Server {
  port: number;
  pid: number;
  /** Subscribers admitted (attached) right now. */
  admitted(): Promise<number>;
  stop(): Promise<void>;
}

export async function startNotifier(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const service: ServiceProcess = await startService(
    'notifier',
    {
      ...env,
      NOTIFIER_PORT: String(port),
      WS_MAX_CONNECTIONS_PER_TENANT: '1000000',
      // BENCH_NOTIFIER_PROF_DIR=<dir>: a CPU profile of the notifier, written when it stops.
      ...profiledEnv('notifier', process.env.BENCH_NOTIFIER_PROF_DIR),
    },
    `http://127.0.0.1:${port}/readyz`,
  );
  return {
    port,
    pid: service.child.pid!,
    async admitted() {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^notifier_connections(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    },
    async stop() {
      await service.stop();
    },
  };
}

export interface BareServer extends Server {
  broadcast(jobId: string, frames: string[]): void;
}

export async function startBare(): Promise<BareServer> {
  const child: ChildProcess = fork(join(here, 'bare-server.js'), [], { stdio: 'inherit' });
  const [listening] = (await once(child, 'message')) as [BareMessage];
  if (listening.kind !== 'listening') throw new Error('bare server did not start');
  return {
    port: listening.port,
    pid: child.pid!,
    async admitted() {
      const reply = once(child, 'message') as Promise<[BareMessage]>;
      child.send({ cmd: 'size' } satisfies BareCommand);
      const [m] = await reply;
      return m.kind === 'size' ? m.size : 0;
    },
    broadcast(jobId, frames) {
      child.send({ cmd: 'broadcast', jobId, frames } satisfies BareCommand);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

export function rssKb(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) : NaN;
}

/** This machine's hard limit on open files: what one server process can hold. */
export function fdHardLimit(): number {
  const line = /^Max open files\s+\d+\s+(\d+|unlimited)/m.exec(
    readFileSync('/proc/self/limits', 'utf8'),
  );
  return !line || line[1] === 'unlimited' ? Infinity : Number(line[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` is true; throws after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export { sleep };
