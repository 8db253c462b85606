// Postgres silent (packets dropped, connections hang): timeouts must fire, nothing may stay stuck or run twice.
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
  `Postgres black-hole ${settings.outageMs / 1000} s under load`,
  async () => {
    expectClean(
      await runOutage(
        world(),
        `Postgres black-hole ${settings.outageMs / 1000} s`,
        'postgres',
        'blackhole',
      ),
    );
  },
  scenarioTimeout(),
);
