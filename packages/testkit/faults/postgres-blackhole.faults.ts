// Postgres silent (packets dropped, connections hang): timeouts must fire, nothing may stay stuck or run twice.
import { outageScenario } from './harness.js';

outageScenario('Postgres black-hole', 'postgres', 'blackhole');
