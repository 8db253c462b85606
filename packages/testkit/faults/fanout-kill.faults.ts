// A worker SIGKILLed while it transcribes one chunk of a fanned-out job: the chunk's
// message goes back to the queue, another worker runs it, and the job completes once,
// with no chunk run twice at the same time.
import { findLog, startRun, waitFor } from '../src/index.js';
import { expectClean, scenarioTimeout, sleep, storedEvents, useFaultWorld } from './harness.js';

const world = useFaultWorld();

/** Whether a process is still running (signal 0 checks without signalling). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it(
  'worker SIGKILL mid-fan-out',
  async () => {
    const w = world();
    const run = startRun(w, 'worker SIGKILL mid-fan-out');
    // 32 s of speech: four 8 s chunks, fanned out to the pool.
    const target = await run.submit(await w.audio.long(32));
    if (!target.job) throw new Error(`target job not accepted: ${target.gaveUp}`);
    const jobId = target.job.id;

    const fannedAt = await waitFor(
      () =>
        findLog(
          w.stack.logs(),
          (l) => l.msg === 'chunks handed to the worker pool' && l.jobId === jobId,
        )?.at,
      { timeoutMs: 120_000, intervalMs: 200, what: 'the target job to fan out' },
    );
    // A pocketsphinx run that started after the fan-out and is still going: a chunk.
    const victim = await waitFor(
      async () => {
        const runs = await w.probe.runs();
        const live = runs.filter((r) => r.at >= fannedAt - 1000 && running(r.pid));
        const id = live
          .map((r) => w.stack.idOfPid(r.workerPid))
          .find((i) => i?.startsWith('worker'));
        return id;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'a chunk being transcribed' },
    );
    const load = run.load();
    await w.stack.kill(victim);
    run.faultEnded();
    run.note(`killed ${victim} while it transcribed a chunk of ${jobId}`);
    await sleep(8000);
    await load.stop();

    const result = await run.finish(async () => {
      const after = await storedEvents(w, jobId);
      run.note(`target's last event ${after.at(-1)?.type}`);
      if (after.at(-1)?.type !== 'completed') run.problem(`target ended ${after.at(-1)?.type}`);
    });
    expectClean(result);
  },
  scenarioTimeout(),
);
