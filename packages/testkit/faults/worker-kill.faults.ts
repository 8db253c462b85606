// A worker SIGKILLed (with its pocketsphinx) while it transcribes a job in place: the job
// must be taken over and completed once, the other jobs must not notice.
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
  'worker SIGKILL mid-job',
  async () => {
    const w = world();
    const run = startRun(w, 'worker SIGKILL mid-job');
    const load = run.load();
    // 16 s of speech: two 8 s chunks, transcribed where the job was claimed.
    const target = await run.submit(await w.audio.long(16));
    if (!target.job) throw new Error(`target job not accepted: ${target.gaveUp}`);
    const jobId = target.job.id;

    const events = await waitFor(
      async () => {
        const list = await storedEvents(w, jobId);
        return list.some((e) => e.type === 'progress' && e.stage === 'transcribing')
          ? list
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'the target job to reach transcribing' },
    );
    const claimedAt = new Date(events.find((e) => e.type === 'processing')!.at).getTime();
    const claim = findLog(
      w.stack.logs(),
      (l) => l.msg === 'processing' && l.jobId === jobId && l.id.startsWith('worker'),
      claimedAt - 5000,
    );
    if (!claim) throw new Error('no worker logged the claim of the target job');
    // Mid-transcription: the claiming worker's pocketsphinx is running right now.
    await waitFor(
      async () =>
        (await w.probe.runs()).some(
          (r) => w.stack.idOfPid(r.workerPid) === claim.id && running(r.pid),
        ) || undefined,
      { timeoutMs: 60_000, intervalMs: 100, what: 'pocketsphinx on the claiming worker' },
    );
    await w.stack.kill(claim.id);
    run.faultEnded();
    run.note(`killed ${claim.id} while it transcribed ${jobId}`);
    await sleep(8000);
    await load.stop();

    const result = await run.finish(async () => {
      const after = await storedEvents(w, jobId);
      const attempts = after.flatMap((e) => (e.type === 'processing' ? [e.attempt] : []));
      run.note(`target's attempts: ${attempts.join(',')}, last event ${after.at(-1)?.type}`);
      if (after.at(-1)?.type !== 'completed') run.problem(`target ended ${after.at(-1)?.type}`);
    });
    expectClean(result);
  },
  scenarioTimeout(),
);
