// The soak: one fault world under steady load while a seeded random sequence of faults
// hits it — SIGKILLs of workers (preferably mid-transcription), notifiers and gateways,
// and short RabbitMQ, Postgres and S3 blips — then the same closing count as the
// scenarios, with every job followed by a resuming WebSocket client.
import { storedEvents } from './fault-audit.js';
import type { ScenarioResult } from './fault-report.js';
import { startRun } from './fault-run.js';
import { startFaultWorld, type FaultSettings, type FaultWorld } from './fault-world.js';
import { followResuming, streamMismatch, type ResumedStream } from './ws-resume.js';

/** mulberry32: a tiny seeded PRNG, so a failing soak can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Action =
  | { kind: 'kill'; service: 'worker' | 'notifier' | 'gateway' }
  | {
      kind: 'blip';
      dependency: 'postgres' | 'rabbitmq' | 's3';
      mode: 'cut' | 'refuse' | 'blackhole';
      ms: number;
    };

/** The seeded plan: which fault, in what order, with what gaps between them. */
export function planSoak(count: number, seed: number): { action: Action; pauseMs: number }[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  return Array.from({ length: count }, () => {
    const roll = random();
    const action: Action =
      roll < 0.55
        ? {
            kind: 'kill',
            service: pick(['worker', 'worker', 'worker', 'notifier', 'gateway'] as const),
          }
        : {
            kind: 'blip',
            dependency: pick(['postgres', 'postgres', 'rabbitmq', 'rabbitmq', 's3'] as const),
            mode: pick(['cut', 'refuse', 'refuse', 'blackhole'] as const),
            ms: between(2000, 8000),
          };
    return { action, pauseMs: between(3000, 9000) };
  });
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A worker running pocketsphinx right now if there is one, else any running worker. */
async function busyWorker(world: FaultWorld, random: () => number): Promise<string | undefined> {
  const down = new Set(world.stack.down());
  const runs = await world.probe.runs();
  const busy = runs
    .filter((r) => running(r.pid))
    .map((r) => world.stack.idOfPid(r.workerPid))
    .filter((id): id is string => !!id && !down.has(id));
  if (busy.length) return busy[Math.floor(random() * busy.length)];
  const idle = world.stack.ids('worker').filter((id) => !down.has(id));
  return idle[Math.floor(random() * idle.length)];
}

export async function runSoak(
  count: number,
  seed: number,
  settings: FaultSettings,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const world = await startFaultWorld(settings);
  try {
    const random = seededRandom(seed ^ 0x5eed);
    const run = startRun(world, `soak ×${count} seed ${seed}`);
    const followers: Promise<{ jobId: string; stream: ResumedStream }>[] = [];
    // Jobs submitted and not yet finished. The load stays within what the workers can do
    // (a few jobs each): past it the backlog, not the faults, would decide how long a job
    // waits, and followers would time out on a healthy but overloaded stack.
    let open = 0;
    const maxOpen = world.stack.ids('worker').length * 2;
    const submitFollowed = async (file: string) => {
      open++;
      const outcome = await run.submit(file);
      const job = outcome.job;
      if (!job) {
        open--;
        return;
      }
      followers.push(
        followResuming({
          notifierUrls: world.stack.notifierUrls,
          jobId: job.id,
          token: job.eventsToken,
          timeoutMs: settings.settleMs + 300_000,
          maxReconnects: 200,
        })
          .catch((error: unknown): ResumedStream => {
            run.problem(String(error));
            return { received: [], duplicates: 0, gaps: 0, reconnects: 0 };
          })
          .then((stream) => {
            open--;
            return { jobId: job.id, stream };
          }),
      );
    };
    let stopped = false;
    const load = (async () => {
      // Bounded like FaultRun.load: one job per interval, at most 1000.
      for (let i = 0; i < 1000 && !stopped; i++) {
        if (open < maxOpen) {
          void submitFollowed(i % 5 === 4 ? await world.audio.long(32) : await world.audio.short());
        }
        await new Promise((r) => setTimeout(r, settings.jobIntervalMs));
      }
    })();

    const started = Date.now();
    for (const [i, { action, pauseMs }] of planSoak(count, seed).entries()) {
      await new Promise((r) => setTimeout(r, pauseMs));
      const at = `+${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (action.kind === 'kill') {
        const down = new Set(world.stack.down());
        const id =
          action.service === 'worker'
            ? await busyWorker(world, random)
            : world.stack.ids(action.service).filter((s) => !down.has(s))[0];
        if (!id) {
          log(`${at} #${i + 1} kill ${action.service}: none running, skipped`);
          continue;
        }
        log(`${at} #${i + 1} SIGKILL ${id}`);
        await world.stack.kill(id).catch((error: unknown) => log(`  ${String(error)}`));
      } else {
        const proxy = world.stack.proxies[action.dependency];
        log(`${at} #${i + 1} ${action.dependency} ${action.mode} for ${action.ms} ms`);
        if (action.mode === 'cut') proxy.cut();
        else {
          proxy[action.mode]();
          await new Promise((r) => setTimeout(r, action.ms));
          proxy.restore();
        }
      }
      run.faultEnded();
    }
    await new Promise((r) => setTimeout(r, 10_000));
    stopped = true;
    await load;

    const result = await run.finish(async () => {
      const streams = await Promise.all(followers);
      let reconnects = 0;
      for (const { jobId, stream } of streams) {
        reconnects += stream.reconnects;
        run.addDuplicates(stream.duplicates);
        if (stream.gaps) run.problem(`job ${jobId}: ${stream.gaps} gap(s) in the resumed stream`);
        const mismatch = streamMismatch(stream, await storedEvents(world.env.db, jobId));
        if (mismatch) run.problem(`job ${jobId}: ${mismatch}`);
      }
      run.note(`seed ${seed}; ${streams.length} WebSocket clients, ${reconnects} reconnect(s)`);
    });
    return result;
  } finally {
    await world.close();
  }
}
