// The suites `pnpm bench` runs, in this order. Each lives in its own module.
import type { Suite } from '../lib/harness.js';
import { notifierSuite } from './notifier.js';

export const suites: Suite[] = [notifierSuite];
