// The suites `pnpm bench` runs, in this order. Each lives in its own module.
import type { Suite } from '../lib/harness.js';
import { gatewaySuite } from './gateway.js';
import { notifierSuite } from './notifier.js';
import { uploadsSuite } from './uploads.js';
import { workerSuite } from './worker.js';

export const suites: Suite[] = [gatewaySuite, uploadsSuite, notifierSuite, workerSuite];
