// CPU time of the server side, read from /proc/<pid>/stat (utime + stime, clock ticks of
// 10 ms): the service processes by pid, and Postgres backends by the application_name their
// connections set, found in pg_stat_activity. Background Postgres work (WAL writer,
// checkpointer, autovacuum) and RabbitMQ are not counted, for ours or for the baseline.
import { readFileSync } from 'node:fs';
import { sql } from '../../packages/db/node_modules/kysely/dist/esm/index.js';
import type { Db } from '../../packages/db/dist/index.js';

const TICK_MS = 10;

/** utime + stime of a process in ms, or 0 when it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export interface CpuProbe {
  /** ms of CPU per named part since `start` (processes and Postgres backends). */
  start(): Promise<() => Promise<Record<string, number>>>;
}

/**
 * `processes`: name → pid; `backends`: name → application_name of Postgres connections.
 * Backends are matched before and after: one that is new counts all its time, one that
 * ended during the run is missed (pools keep theirs open while busy).
 */
export function cpuProbe(
  db: Db,
  processes: Record<string, number>,
  backends: Record<string, string>,
): CpuProbe {
  const backendPids = async (app: string) =>
    (
      await sql<{
        pid: number;
      }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${app}`.execute(db)
    ).rows.map((r) => r.pid);
  const snapshot = async () => {
    const out = new Map<string, Map<number, number>>();
    for (const [name, pid] of Object.entries(processes))
      out.set(name, new Map([[pid, cpuMsOf(pid)]]));
    for (const [name, app] of Object.entries(backends)) {
      out.set(name, new Map((await backendPids(app)).map((pid) => [pid, cpuMsOf(pid)])));
    }
    return out;
  };
  return {
    async start() {
      const before = await snapshot();
      return async () => {
        const after = await snapshot();
        const used: Record<string, number> = {};
        for (const [name, pids] of after) {
          let ms = 0;
          for (const [pid, now] of pids) ms += now - (before.get(name)?.get(pid) ?? 0);
          used[name] = ms;
        }
        return used;
      };
    },
  };
}
