import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

export type ServiceName = 'gateway' | 'worker' | 'notifier';

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Recent output lines, shown when a service dies unexpectedly. */
  output(): string;
  /** SIGTERM and wait for exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * Runs a built service (`services/<name>/dist/main.js`) as its own process, as in
 * production, and waits until its readiness URL answers 200.
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  readyUrl: string,
  options: { inheritOutput?: boolean; timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [join(repoRoot(), 'services', name, 'dist', 'main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    if (options.inheritOutput) process.stderr.write(chunk);
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const service: ServiceProcess = {
    name,
    child,
    output: () => lines.join('\n'),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `${name} exited with ${child.exitCode} before it was ready:\n${service.output()}`,
      );
    }
    try {
      const res = await fetch(readyUrl);
      if (res.ok) return service;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await service.kill();
      throw new Error(`${name} not ready at ${readyUrl} in time:\n${service.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
