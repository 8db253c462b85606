// S3 unreachable (connections cut, new ones refused): uploads are retried, jobs retry their downloads and complete or fail with a reason.
import { outageScenario } from './harness.js';

outageScenario('S3 unreachable', 's3', 'refuse');
