// Notifiers SIGKILLed while WebSocket clients follow jobs: every client reconnects (to
// the other notifier, or the restarted one) with after=<last seq> and must end up with
// exactly the job's stored events, in seq order, with no gap and no duplicate.
import type { CreateJobResponse } from '@transcribe/contracts';
import {
  followResuming,
  startRun,
  streamMismatch,
  waitFor,
  type ResumedStream,
} from '../src/index.js';
import { expectClean, scenarioTimeout, storedEvents, useFaultWorld } from './harness.js';

const world = useFaultWorld();

it(
  'notifier SIGKILL with WebSocket clients resuming',
  async () => {
    const w = world();
    const run = startRun(w, 'notifier SIGKILL, clients resume');
    const files = [
      await w.audio.long(16),
      await w.audio.short(),
      await w.audio.short(),
      await w.audio.long(16),
      await w.audio.short(),
      await w.audio.short(),
    ];
    const jobs: CreateJobResponse[] = [];
    for (const file of files) {
      const outcome = await run.submit(file);
      if (!outcome.job) throw new Error(`job not accepted: ${outcome.gaveUp}`);
      jobs.push(outcome.job);
    }
    const live = new Map<string, number>();
    const streams = jobs.map((job) =>
      followResuming({
        notifierUrls: w.stack.notifierUrls,
        jobId: job.id,
        token: job.eventsToken,
        timeoutMs: 300_000,
        onEvent: (e) => live.set(job.id, e.seq),
      }).catch((error: unknown): ResumedStream => {
        run.problem(String(error));
        return { received: [], duplicates: 0, gaps: 0, reconnects: 0 };
      }),
    );

    // Mid-stream: some client has events but its job is not finished.
    const unfinished = async () => {
      for (const job of jobs) {
        const events = await storedEvents(w, job.id);
        const terminal = events.some((e) => ['completed', 'failed', 'canceled'].includes(e.type));
        if ((live.get(job.id) ?? 0) >= 2 && !terminal) return job.id;
      }
      return undefined;
    };
    for (const victim of w.stack.ids('notifier')) {
      const jobId = await waitFor(unfinished, {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: 'a client mid-stream',
      }).catch(() => undefined);
      if (!jobId) break;
      await w.stack.kill(victim);
      run.faultEnded();
      run.note(`killed ${victim} while job ${jobId} was at seq ${live.get(jobId)}`);
      await w.stack.waitAllUp(120_000);
    }

    const results = await Promise.all(streams);
    const result = await run.finish(async () => {
      let reconnects = 0;
      for (const [i, job] of jobs.entries()) {
        const stream = results[i]!;
        reconnects += stream.reconnects;
        run.addDuplicates(stream.duplicates);
        if (stream.gaps) run.problem(`job ${job.id}: ${stream.gaps} gap(s) in the resumed stream`);
        const mismatch = streamMismatch(stream, await storedEvents(w, job.id));
        if (mismatch) run.problem(`job ${job.id}: ${mismatch}`);
      }
      run.note(`${reconnects} reconnect(s) over ${jobs.length} clients`);
    });
    expectClean(result);
  },
  scenarioTimeout(),
);
