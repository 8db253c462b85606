// What every service's tests set up before the service itself: a tenant that can
// authenticate, and an outbox relay that publishes what they write.
import { randomUUID } from 'node:crypto';
import { ensureTenant, generateApiKey, insertApiKey, type Db } from '@transcribe/db';
import { connectBroker, startOutboxRelay, type Broker, type OutboxRelay } from '@transcribe/queue';
import type { TestEnv } from './test-env.js';

export interface SeededTenant {
  id: string;
  apiKey: string;
}

/** The tenant `name` (created unless it exists) with a new API key of its own. */
export async function seedTenant(
  db: Db,
  name: string,
  options: { apiKey?: string; keyName?: string } = {},
): Promise<SeededTenant> {
  const id = await ensureTenant(db, name);
  const apiKey = options.apiKey ?? generateApiKey();
  await insertApiKey(db, { tenantId: id, name: options.keyName ?? 'test', key: apiKey });
  return { id, apiKey };
}

export interface TestRelay {
  /** The relay's own broker connection, ready. */
  broker: Broker;
  relay: OutboxRelay;
  stop(): Promise<void>;
}

/**
 * An outbox relay on its own broker connection. `pollMs` is the test's choice: a long one
 * proves that whatever is published promptly was kicked.
 */
export async function startTestRelay(
  env: TestEnv,
  options: { pollMs: number },
): Promise<TestRelay> {
  const broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready();
  const relay = startOutboxRelay({ db: env.db, broker, pollMs: options.pollMs });
  return {
    broker,
    relay,
    async stop() {
      await relay.stop();
      await broker.close();
    },
  };
}

/**
 * The fields of a small test job of `tenantId` (a 1234-byte WAV for sphinx, default
 * priority, a fresh id), for insertJob or insertQueuedJob; `overrides` replace any.
 */
export function jobFields<const T extends object = object>(
  tenantId: string,
  overrides: T = {} as T,
) {
  return {
    id: randomUUID(),
    tenant_id: tenantId,
    upload_id: null,
    priority: 'default' as const,
    object_key: `${tenantId}/x/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1234,
    language: 'en',
    engine: 'sphinx',
    ...overrides,
  };
}
