// RabbitMQ connections reset (no outage: they reconnect at once) while workers are
// mid-transcription, three times: the unacked messages are redelivered at once, while
// the runs they started are still going — a redelivery must not start a second run.
import { startRun, waitFor } from '../src/index.js';
import { expectClean, scenarioTimeout, sleep, useFaultWorld } from './harness.js';

const world = useFaultWorld();

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it(
  'RabbitMQ connections reset mid-transcription',
  async () => {
    const w = world();
    const run = startRun(w, 'RabbitMQ reset ×3 mid-job');
    const load = run.load();
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => (await w.probe.runs()).some((r) => running(r.pid)) || undefined, {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: 'pocketsphinx running on a worker',
      });
      w.stack.proxies.rabbitmq.cut();
      run.faultEnded();
      await sleep(5000);
    }
    run.note(`${w.stack.proxies.rabbitmq.stats().cut} broker connection(s) reset`);
    await sleep(5000);
    await load.stop();
    expectClean(await run.finish());
  },
  scenarioTimeout(),
);
