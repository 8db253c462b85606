// RabbitMQ unreachable (connections cut, new ones refused): workers and relays reconnect, nothing is lost or run twice.
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
  `RabbitMQ cut ${settings.outageMs / 1000} s under load`,
  async () => {
    expectClean(
      await runOutage(world(), `RabbitMQ cut ${settings.outageMs / 1000} s`, 'rabbitmq', 'refuse'),
    );
  },
  scenarioTimeout(),
);
