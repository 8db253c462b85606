import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema, notifierSchema, workerSchema } from '@transcribe/config';
import { repoRoot } from '../src/index.js';

export const root = repoRoot();

/** The three services, the schema each validates its env with, and the port it serves on. */
export const services = [
  { name: 'gateway', schema: gatewaySchema, portVar: 'GATEWAY_PORT' },
  { name: 'worker', schema: workerSchema, portVar: 'METRICS_PORT' },
  { name: 'notifier', schema: notifierSchema, portVar: 'NOTIFIER_PORT' },
] as const;

/**
 * How long a worker drains after SIGTERM: WORKER_GRACE_S where the schema has it (the
 * parsed value), else the constant in the worker's main.ts.
 */
export function workerGraceSeconds(config: Record<string, unknown>): number {
  if (typeof config.WORKER_GRACE_S === 'number') return config.WORKER_GRACE_S;
  const main = readFileSync(join(root, 'services/worker/src/main.ts'), 'utf8');
  const ms = /GRACE_MS\s*=\s*([\d_]+)/.exec(main)?.[1];
  if (!ms) throw new Error('neither WORKER_GRACE_S nor GRACE_MS found for the worker');
  return Number(ms.replace(/_/g, '')) / 1000;
}
