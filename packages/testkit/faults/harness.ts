// Shared by the fault scenarios: one fault world per file (its own database, queues,
// bucket, proxies and service processes), torn down whatever happens.
import { JobEvent } from '@transcribe/contracts';
import {
  faultSettingsFromEnv,
  ruleBreaks,
  startFaultWorld,
  startRun,
  type FaultWorld,
  type ScenarioResult,
} from '../src/index.js';

export const settings = faultSettingsFromEnv();

/** Starts the world before the file's tests and stops it after; returns a getter. */
export function useFaultWorld(
  overrides: { workerEnv?: Record<string, string> } = {},
): () => FaultWorld {
  let world: FaultWorld | undefined;
  beforeAll(async () => {
    world = await startFaultWorld(settings, overrides);
  }, settings.startTimeoutMs * 3);
  afterAll(async () => {
    await world?.close();
  }, 60_000);
  return () => {
    if (!world) throw new Error('fault world not started');
    return world;
  };
}

/** Fails the test with every rule the scenario broke, spelled out. */
export function expectClean(result: ScenarioResult): void {
  const breaks = ruleBreaks(result);
  if (breaks.length > 0) {
    throw new Error(
      `${result.scenario}: ${breaks.length} rule(s) broken\n${breaks.join('\n')}\nnotes:\n${result.notes.join('\n')}`,
    );
  }
}

/** The job's stored events, in seq order. */
export async function storedEvents(world: FaultWorld, jobId: string): Promise<JobEvent[]> {
  const rows = await world.env.db
    .selectFrom('job_events')
    .select(['payload'])
    .where('job_id', '=', jobId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => JobEvent.parse(r.payload));
}

/** Time a scenario may take: outage, settle wait and start-ups, generously. */
export function scenarioTimeout(extraMs = 0): number {
  return settings.outageMs + settings.settleMs + settings.startTimeoutMs * 2 + 120_000 + extraMs;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Worker settings for the outage scenarios: a long recording is transcribed in place
 * instead of fanned out, so one attempt spans the whole outage — the case where a
 * redelivered message or an expired lease could start a second run beside it.
 */
export const SPANNING_JOB_ENV = { FANOUT_MIN_CHUNKS: '100' };
/** Speech long enough to outlast warm-up and outage (pocketsphinx runs at ~0.3–1× real time). */
const spanningSeconds = Math.max(48, Math.round((settings.outageMs / 1000) * 4.5));

/**
 * A dependency out for `settings.outageMs` under a steady load: jobs flow for a few
 * seconds, the proxy breaks (`refuse`: the link is cut and nothing connects; `blackhole`:
 * connections hang), then it is restored and the load goes on a little before the count.
 * A long job submitted first is still running when the fault ends.
 */
export async function runOutage(
  world: FaultWorld,
  scenario: string,
  dependency: 'postgres' | 'rabbitmq' | 's3',
  mode: 'refuse' | 'blackhole',
): Promise<ScenarioResult> {
  const run = startRun(world, scenario);
  const spanning = await run.submit(await world.audio.long(spanningSeconds));
  const load = run.load();
  await sleep(5000);
  const proxy = world.stack.proxies[dependency];
  const before = proxy.stats();
  proxy[mode]();
  await sleep(settings.outageMs);
  const during = proxy.stats();
  proxy.restore();
  run.faultEnded();
  run.note(
    `${dependency} ${mode} for ${settings.outageMs / 1000} s: ${during.cut - before.cut} connection(s) cut, ${during.refused - before.refused} refused, ${during.open} held open at the end`,
  );
  await sleep(10_000);
  await load.stop();
  return run.finish(async () => {
    const id = spanning.job?.id;
    if (!id) return run.problem(`the long job was not accepted: ${spanning.gaveUp}`);
    const events = await storedEvents(world, id);
    const attempts = events.flatMap((e) => (e.type === 'processing' ? [e.attempt] : []));
    run.note(`long job: attempts ${attempts.join(',')}, ended ${events.at(-1)?.type}`);
  });
}

/**
 * Declares a file's outage scenario: its own world (a long job transcribed in place) and one
 * test, `<label> <outage> s under load`, that breaks `dependency` and expects a clean count.
 */
export function outageScenario(
  label: string,
  dependency: 'postgres' | 'rabbitmq' | 's3',
  mode: 'refuse' | 'blackhole',
): void {
  const world = useFaultWorld({ workerEnv: SPANNING_JOB_ENV });
  const scenario = `${label} ${settings.outageMs / 1000} s`;
  it(
    `${scenario} under load`,
    async () => {
      expectClean(await runOutage(world(), scenario, dependency, mode));
    },
    scenarioTimeout(),
  );
}
