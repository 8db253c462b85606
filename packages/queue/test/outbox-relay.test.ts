// The outbox relay on real Postgres and RabbitMQ: rows become confirmed messages and then
// disappear; several relays share one outbox without publishing a row twice; an
// unreachable broker loses nothing.
import { randomUUID } from 'node:crypto';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { TranscribeMessage } from '@transcribe/contracts';
import { createDb, insertOutbox, type Db } from '@transcribe/db';
import { createTestEnv, type TestEnv } from '../../testkit/src/index.js';
import { enqueueTranscription } from '@transcribe/jobs';
import { connectBroker, startOutboxRelay, type Broker, type OutboxRelay } from '../src/index.js';
import { waitFor } from '../../testkit/src/wait-for.js';

let env: TestEnv;
let broker: Broker;
let connection: ChannelModel;
let channel: Channel;
/** Everything delivered from the jobs queue and from a queue bound to the events exchange (`#`). */
const received: { source: 'jobs' | 'events'; msg: ConsumeMessage; body: unknown }[] = [];

const cleanups: (() => Promise<unknown>)[] = [];
/** Registers a relay, broker or pool to be stopped after the current test, whatever its outcome. */
function track<T extends OutboxRelay | Broker | Db>(thing: T): T {
  cleanups.push(() =>
    'kick' in thing ? thing.stop() : 'ready' in thing ? thing.close() : thing.destroy(),
  );
  return thing;
}

beforeAll(async () => {
  env = await createTestEnv();
  broker = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await broker.ready(); // declares the topology

  connection = await amqplib.connect(env.env.AMQP_URL!);
  channel = await connection.createChannel();
  await channel.consume(broker.names.jobsQueue, (msg) => {
    if (!msg) return;
    received.push({ source: 'jobs', msg, body: JSON.parse(msg.content.toString()) });
    channel.ack(msg);
  });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, broker.names.eventsExchange, '#');
  await channel.consume(queue, (msg) => {
    if (!msg) return;
    received.push({ source: 'events', msg, body: JSON.parse(msg.content.toString()) });
    channel.ack(msg);
  });
}, 60_000);

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

afterAll(async () => {
  await channel?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await broker?.close();
  await env?.close();
});

// A poll interval no wait in this file comes near: whatever such a relay publishes, kick()
// or its start-up drain published, however slow the machine.
const NEVER_POLLS = 24 * 60 * 60_000;

const outboxCount = async (db: Db = env.db) =>
  Number(
    (
      await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Messages received since `from`, carrying this test's marker. */
const mine = (marker: string) =>
  received.filter((r) => (r.body as { marker?: string }).marker === marker);

describe('outbox relay', () => {
  it('publishes jobs rows to the jobs queue and events rows to the events exchange, then deletes them', async () => {
    const marker = randomUUID();
    const jobId = randomUUID();
    const tenantId = randomUUID();
    await env.db.transaction().execute(async (trx) => {
      await enqueueTranscription(trx, { id: jobId, tenantId, priority: 'high' });
      await insertOutbox(trx, {
        topic: 'jobs',
        routingKey: 'transcribe',
        payload: { marker, n: 1 },
        priority: 0,
      });
      await insertOutbox(trx, {
        topic: 'events',
        routingKey: `${tenantId}.${jobId}.queued`,
        payload: { marker, n: 2 },
      });
    });
    const ids = (await env.db.selectFrom('outbox').select('id').orderBy('id').execute()).map((r) =>
      String(r.id),
    );
    expect(ids).toHaveLength(3);

    track(startOutboxRelay({ db: env.db, broker, pollMs: 20 }));
    await waitFor(
      () =>
        mine(marker).length === 2 &&
        received.some((r) => (r.body as TranscribeMessage).jobId === jobId),
    );
    await waitFor(async () => (await outboxCount()) === 0);

    const job = received.find((r) => (r.body as TranscribeMessage).jobId === jobId)!;
    expect(job.source).toBe('jobs');
    expect(TranscribeMessage.parse(job.body)).toEqual({ v: 1, jobId, tenantId });
    expect(job.msg.properties).toMatchObject({
      deliveryMode: 2,
      contentType: 'application/json',
      priority: 2,
      messageId: ids[0],
    });

    const [plain, event] = [
      mine(marker).find((r) => r.source === 'jobs')!,
      mine(marker).find((r) => r.source === 'events')!,
    ];
    expect(plain.body).toEqual({ marker, n: 1 });
    expect(plain.msg.properties.messageId).toBe(ids[1]);
    expect(event.body).toEqual({ marker, n: 2 });
    expect(event.msg.fields.exchange).toBe(broker.names.eventsExchange);
    expect(event.msg.fields.routingKey).toBe(`${tenantId}.${jobId}.queued`);
    expect(event.msg.properties.messageId).toBe(ids[2]);
    // Each row went exactly where its topic says, once.
    expect(mine(marker)).toHaveLength(2);
  });

  it('publishes promptly on kick() even with a long poll interval', async () => {
    const relay = track(startOutboxRelay({ db: env.db, broker, pollMs: NEVER_POLLS }));
    // Let the drain a relay does at start finish, so only kick() can publish what follows.
    await waitFor(async () => (await outboxCount()) === 0);
    await new Promise((r) => setTimeout(r, 100));
    const marker = randomUUID();
    await insertOutbox(env.db, { topic: 'events', routingKey: 'a.b.queued', payload: { marker } });
    // Nothing drains by itself within the interval…
    await new Promise((r) => setTimeout(r, 200));
    expect(mine(marker)).toHaveLength(0);
    // …until kicked.
    relay.kick();
    await waitFor(() => mine(marker).length === 1, { what: 'the kicked row to be published' });
    await waitFor(async () => (await outboxCount()) === 0);
  });

  it('publishes rows left by a previous process as soon as it starts', async () => {
    const marker = randomUUID();
    await insertOutbox(env.db, { topic: 'events', routingKey: 'a.b.queued', payload: { marker } });
    track(startOutboxRelay({ db: env.db, broker, pollMs: NEVER_POLLS }));
    await waitFor(() => mine(marker).length === 1);
  });

  it('drains more than one batch in a single kick', async () => {
    const relay = track(
      startOutboxRelay({ db: env.db, broker, pollMs: NEVER_POLLS, batchSize: 7 }),
    );
    const marker = randomUUID();
    for (let i = 0; i < 30; i++) {
      await insertOutbox(env.db, {
        topic: 'jobs',
        routingKey: 'transcribe',
        payload: { marker, i },
      });
    }
    relay.kick();
    await waitFor(() => mine(marker).length === 30);
    // Published in outbox order.
    expect(mine(marker).map((r) => (r.body as { i: number }).i)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    // Deleted once the last batch's transaction commits (deliveries can arrive just before).
    await waitFor(async () => (await outboxCount()) === 0);
  });

  it('publishes each row exactly once with two relays on the same database', async () => {
    const marker = randomUUID();
    const rows = Array.from({ length: 200 }, (_, i) => ({
      topic: (i % 2 ? 'jobs' : 'events') as 'jobs' | 'events',
      routing_key: i % 2 ? 'transcribe' : `t.j${i}.progress`,
      payload: JSON.stringify({ marker, i }),
      priority: null,
    }));
    await env.db.insertInto('outbox').values(rows).execute();

    // Two "processes": separate pools and broker connections.
    const db2 = track(createDb(env.databaseUrl, { max: 3 }));
    const broker2 = track(connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix }));
    await broker2.ready();
    // Counts what each relay publishes (the publishes themselves are real).
    const published = [0, 0];
    const counting = (inner: Broker, n: 0 | 1): Broker => ({
      ...inner,
      publish: (...args) => {
        published[n]! += 1;
        return inner.publish(...args);
      },
    });
    const a = track(
      startOutboxRelay({ db: env.db, broker: counting(broker, 0), pollMs: 5, batchSize: 10 }),
    );
    const b = track(
      startOutboxRelay({ db: db2, broker: counting(broker2, 1), pollMs: 5, batchSize: 10 }),
    );
    a.kick();
    b.kick();

    await waitFor(async () => (await outboxCount()) === 0);
    await waitFor(() => mine(marker).length >= 200);
    // Give a duplicate, if any, time to arrive.
    await new Promise((r) => setTimeout(r, 300));

    const got = mine(marker);
    expect(got).toHaveLength(200);
    expect(new Set(got.map((r) => r.msg.properties.messageId)).size).toBe(200);
    expect(new Set(got.map((r) => (r.body as { i: number }).i)).size).toBe(200);
    expect(got.filter((r) => r.source === 'jobs')).toHaveLength(100);
    // Both relays did part of the work (SKIP LOCKED), and together published each row once.
    expect(published[0]).toBeGreaterThan(0);
    expect(published[1]).toBeGreaterThan(0);
    expect(published[0]! + published[1]!).toBe(200);
  });

  it('keeps rows while the broker is unreachable and publishes them once it is back', async () => {
    const marker = randomUUID();
    await insertOutbox(env.db, { topic: 'jobs', routingKey: 'transcribe', payload: { marker } });

    const errors: unknown[] = [];
    const down = track(
      connectBroker({
        url: 'amqp://guest:guest@127.0.0.1:1',
        prefix: env.prefix,
        publishTimeoutMs: 200,
      }),
    );
    const failing = track(
      startOutboxRelay({
        db: env.db,
        broker: down,
        pollMs: NEVER_POLLS,
        onError: (e) => errors.push(e),
      }),
    );
    failing.kick();
    await waitFor(() => errors.length > 0);
    await failing.stop();
    expect(await outboxCount()).toBe(1);
    expect(mine(marker)).toHaveLength(0);

    const working = track(startOutboxRelay({ db: env.db, broker, pollMs: NEVER_POLLS }));
    working.kick();
    await waitFor(() => mine(marker).length === 1);
    await waitFor(async () => (await outboxCount()) === 0);
  });

  it('stop() waits for the drain in flight and ignores later kicks', async () => {
    const relay = startOutboxRelay({ db: env.db, broker, pollMs: NEVER_POLLS });
    const marker = randomUUID();
    await insertOutbox(env.db, { topic: 'events', routingKey: 'a.b.c', payload: { marker, n: 1 } });
    relay.kick();
    await relay.stop();
    // The drain that was running had committed before stop() resolved.
    expect(await outboxCount()).toBe(0);
    await waitFor(() => mine(marker).length === 1);

    await insertOutbox(env.db, { topic: 'events', routingKey: 'a.b.c', payload: { marker, n: 2 } });
    relay.kick();
    await new Promise((r) => setTimeout(r, 200));
    expect(mine(marker)).toHaveLength(1);
    expect(await outboxCount()).toBe(1);
    await env.db.deleteFrom('outbox').execute();
  });
});
