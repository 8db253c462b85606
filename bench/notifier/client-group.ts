// Client processes of the notifier suite, driven over IPC: each opens its share of the
// subscribers from its own source address and reports what its sockets received.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientCommand, ClientMessage, Target } from './protocol.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Share {
  path: string;
  count: number;
}

export class ClientGroup {
  private constructor(private readonly procs: ChildProcess[]) {}

  /** `processes` idle client processes, ready to open. */
  static async start(processes: number): Promise<ClientGroup> {
    const procs = Array.from({ length: processes }, () =>
      fork(join(here, 'clients.js'), [], { stdio: 'inherit' }),
    );
    const group = new ClientGroup(procs);
    await Promise.all(procs.map((child) => group.next(child, 'ready', 30_000)));
    return group;
  }

  /**
   * Opens `shares[i]` from process i (from source address 127.0.0.<2 + i + addressOffset>
   * beyond 20k connections);
   * resolves when every handshake has ended, throws if any failed.
   */
  async open(port: number, shares: Share[], window = 100, addressOffset = 0): Promise<void> {
    const spread = shares.reduce((n, s) => n + s.count, 0) > 20_000;
    await Promise.all(
      shares.map(async (share, i) => {
        const child = this.procs[i]!;
        const target: Target = {
          port,
          path: share.path,
          count: share.count,
          // Bound to its own source address only where one address's ~28k ephemeral ports
          // could run out: bind-before-connect makes the kernel search for a port that no
          // socket uses (TIME_WAIT ones from earlier rounds included), which is slow.
          ...(spread ? { localAddress: `127.0.0.${2 + i + addressOffset}` } : {}),
          window,
        };
        const opened = this.next(child, 'opened', 300_000);
        child.send({ cmd: 'open', target } satisfies ClientCommand);
        const m = await opened;
        if (m.failed > 0) throw new Error(`${m.failed} of ${share.count} handshakes failed`);
      }),
    );
  }

  async received(): Promise<number> {
    const counts = await this.ask({ cmd: 'count' }, 'count');
    return counts.reduce((n, c) => n + c.received, 0);
  }

  /** Every stamped frame's latency since the last collect, and the first and last arrival. */
  async collect(): Promise<{ latencies: number[]; firstRecvMs: number; lastRecvMs: number }> {
    const reports = await this.ask({ cmd: 'report' }, 'report');
    for (const child of this.procs) child.send({ cmd: 'reset' } satisfies ClientCommand);
    const firsts = reports.map((r) => r.firstRecvMs).filter((t) => t > 0);
    return {
      latencies: reports.flatMap((r) => r.latencies),
      firstRecvMs: Math.min(...firsts),
      lastRecvMs: Math.max(...reports.map((r) => r.lastRecvMs)),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.procs.map((child) => {
        if (child.exitCode !== null) return undefined;
        const exited = once(child, 'exit');
        child.send({ cmd: 'close' } satisfies ClientCommand);
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        return exited.finally(() => clearTimeout(kill));
      }),
    );
  }

  private async ask<K extends ClientMessage['kind']>(command: ClientCommand, kind: K) {
    return Promise.all(
      this.procs.map(async (child) => {
        const reply = this.next(child, kind);
        child.send(command);
        return (await reply) as Extract<ClientMessage, { kind: K }>;
      }),
    );
  }

  private async next<K extends ClientMessage['kind']>(
    child: ChildProcess,
    kind: K,
    timeoutMs = 60_000,
  ): Promise<Extract<ClientMessage, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`client process: no ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: ClientMessage) => {
        if (m.kind !== kind) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(m as Extract<ClientMessage, { kind: K }>);
      };
      child.on('message', onMessage);
    });
  }
}

/** `total` subscribers of one path split over `processes` processes. */
export function split(path: string, total: number, processes: number): Share[] {
  const per = Math.ceil(total / processes);
  return Array.from({ length: processes }, (_, i) => ({
    path,
    count: Math.max(0, Math.min(per, total - i * per)),
  })).filter((s) => s.count > 0);
}
