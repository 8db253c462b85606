// Postgres unreachable (connections cut, new ones refused): gateways answer 503 and stay up, workers hand jobs back, everything completes.
import { outageScenario } from './harness.js';

outageScenario('Postgres cut', 'postgres', 'refuse');
