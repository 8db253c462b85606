// S3 unreachable (connections cut, new ones refused): uploads are retried, jobs retry their downloads and complete or fail with a reason.
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
  `S3 unreachable ${settings.outageMs / 1000} s under load`,
  async () => {
    expectClean(
      await runOutage(world(), `S3 unreachable ${settings.outageMs / 1000} s`, 's3', 'refuse'),
    );
  },
  scenarioTimeout(),
);
