// Postgres unreachable (connections cut, new ones refused): gateways answer 503 and stay up, workers hand jobs back, everything completes.
import {
  expectClean,
  runOutage,
  scenarioTimeout,
  settings,
  SPANNING_JOB_ENV,
  useFaultWorld,
} from './harness.js';

const world = useFaultWorld({ workerEnv: SPANNING_JOB_ENV });

it(
  `Postgres cut ${settings.outageMs / 1000} s under load`,
  async () => {
    expectClean(
      await runOutage(world(), `Postgres cut ${settings.outageMs / 1000} s`, 'postgres', 'refuse'),
    );
  },
  scenarioTimeout(),
);
