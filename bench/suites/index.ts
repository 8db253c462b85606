// The suites `pnpm bench` runs, in this order. Each lives in its own module.
import type { Suite } from '../lib/harness.js';
import { workerSuite } from './worker.js';

export const suites: Suite[] = [workerSuite];
