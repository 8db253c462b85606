// Keeps a set of service processes running, as compose's `restart: unless-stopped` or a
// Kubernetes Deployment would: a service that exits without being asked to is started
// again after a backoff that grows while it keeps failing, and every exit, retry and
// recovery is reported, with the service's last output lines as evidence.
import { setTimeout as delay } from 'node:timers/promises';
import { startService, type ServiceName, type ServiceProcess } from './service-process.js';

export interface SupervisedSpec {
  id: string;
  name: ServiceName;
  env: Record<string, string>;
  readyUrl: string;
}

export type SupervisorEvent =
  /** Exited without being asked to (`planned` false), or after `kill()` (`planned` true). */
  | {
      type: 'exited';
      id: string;
      planned: boolean;
      code: number | null;
      signal: string | null;
      tail: string;
    }
  | { type: 'start-failed'; id: string; attempt: number; retryInMs: number; error: string }
  | { type: 'restarted'; id: string; attempt: number; process: ServiceProcess }
  | { type: 'gave-up'; id: string; error: string };

export interface SupervisorOptions {
  /** How long one start may take to answer its readiness URL (default: startService's). */
  startTimeoutMs?: number;
  /** Start a service again when it exits (default true); false only reports the exit. */
  restart?: boolean;
  /** First wait before a restart; doubles per failed try, up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A service up this long has its backoff reset (default 60 s). */
  stableAfterMs?: number;
  /** Stop trying to bring a service back after this long (default: never). */
  giveUpAfterMs?: number;
  inheritOutput?: boolean;
  onLine?: (id: string, line: string) => void;
  onEvent?: (event: SupervisorEvent) => void;
}

export interface Supervisor {
  /** Starts a service; rejects (leaving nothing running) if its first start fails. */
  start(spec: SupervisedSpec): Promise<ServiceProcess>;
  /** The running process of a service; undefined while it is down. */
  process(id: string): ServiceProcess | undefined;
  ids(): string[];
  /** Ids of services down right now (dead, or being restarted). */
  down(): string[];
  /** SIGKILLs a service's process group; it is started again like a crashed one. */
  kill(id: string): Promise<void>;
  waitAllUp(timeoutMs: number): Promise<void>;
  /** SIGTERM to every service (SIGKILL after `graceMs`); no restarts afterwards. */
  stop(graceMs?: number): Promise<void>;
}

interface Slot {
  spec: SupervisedSpec;
  process?: ServiceProcess;
  planned: boolean;
  restarting?: Promise<void>;
  failures: number;
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const initial = options.initialBackoffMs ?? 1000;
  const max = options.maxBackoffMs ?? 30_000;
  const stableAfter = options.stableAfterMs ?? 60_000;
  const slots = new Map<string, Slot>();
  let stopping = false;
  // Ends backoff waits and half-done starts when the supervisor stops.
  const stopped = new AbortController();
  const sleep = (ms: number) =>
    delay(ms, undefined, { signal: stopped.signal }).catch(() => undefined);
  const emit = (event: SupervisorEvent) => options.onEvent?.(event);

  const launch = async (slot: Slot): Promise<ServiceProcess> => {
    const { spec } = slot;
    const service = await startService(spec.name, spec.env, spec.readyUrl, {
      timeoutMs: options.startTimeoutMs,
      inheritOutput: options.inheritOutput,
      signal: stopped.signal,
      onLine: options.onLine && ((line) => options.onLine!(spec.id, line)),
    });
    if (stopping) {
      await service.stop(5000);
      throw new Error('supervisor stopped');
    }
    slot.process = service;
    slot.planned = false;
    const startedAt = Date.now();
    void service.exited.then((exit) => {
      if (slot.process !== service) return;
      slot.process = undefined;
      if (stopping) return;
      if (Date.now() - startedAt >= stableAfter) slot.failures = 0;
      emit({
        type: 'exited',
        id: spec.id,
        planned: slot.planned,
        code: exit.code,
        signal: exit.signal,
        tail: service.output().split('\n').slice(-30).join('\n'),
      });
      if (options.restart !== false) restart(slot);
    });
    return service;
  };

  const backoff = (failures: number) => Math.min(max, initial * 2 ** Math.max(0, failures - 1));

  const restart = (slot: Slot) => {
    slot.restarting ??= (async () => {
      const began = Date.now();
      // A planned kill is restarted at once; a crash waits, longer each time it repeats.
      if (!slot.planned) {
        slot.failures++;
        await sleep(backoff(slot.failures));
      }
      for (let attempt = 1; !stopping; attempt++) {
        try {
          const process = await launch(slot);
          emit({ type: 'restarted', id: slot.spec.id, attempt, process });
          return;
        } catch (error) {
          if (stopping) return;
          slot.failures++;
          const message = error instanceof Error ? error.message : String(error);
          if (options.giveUpAfterMs !== undefined && Date.now() - began > options.giveUpAfterMs) {
            emit({ type: 'gave-up', id: slot.spec.id, error: message });
            return;
          }
          const retryInMs = backoff(slot.failures);
          emit({ type: 'start-failed', id: slot.spec.id, attempt, retryInMs, error: message });
          await sleep(retryInMs);
        }
      }
    })().finally(() => {
      slot.restarting = undefined;
    });
  };

  const down = () =>
    [...slots.values()].filter((s) => !s.process || s.restarting).map((s) => s.spec.id);

  return {
    async start(spec) {
      if (slots.has(spec.id)) throw new Error(`supervisor: ${spec.id} exists already`);
      const slot: Slot = { spec, planned: false, failures: 0 };
      slots.set(spec.id, slot);
      const first = launch(slot);
      // stop() waits for a start in flight, so a sibling's failure orphans nothing.
      slot.restarting = first.then(
        () => undefined,
        () => undefined,
      );
      try {
        return await first;
      } catch (error) {
        slots.delete(spec.id);
        throw error;
      } finally {
        slot.restarting = undefined;
      }
    },
    process: (id) => slots.get(id)?.process,
    ids: () => [...slots.keys()],
    down,
    async kill(id) {
      const slot = slots.get(id);
      if (!slot?.process) throw new Error(`supervisor: ${id} is not running`);
      slot.planned = true;
      await slot.process.kill();
    },
    async waitAllUp(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (down().length === 0) return;
        await delay(200);
      }
      throw new Error(`services still down after ${timeoutMs} ms: ${down().join(', ')}`);
    },
    async stop(graceMs = 15_000) {
      stopping = true;
      stopped.abort();
      await Promise.all(
        [...slots.values()].map(async (slot) => {
          await slot.restarting?.catch(() => undefined);
          await slot.process?.stop(graceMs);
        }),
      );
    },
  };
}
