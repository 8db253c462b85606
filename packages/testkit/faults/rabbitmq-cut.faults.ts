// RabbitMQ unreachable (connections cut, new ones refused): workers and relays reconnect, nothing is lost or run twice.
import { outageScenario } from './harness.js';

outageScenario('RabbitMQ cut', 'rabbitmq', 'refuse');
