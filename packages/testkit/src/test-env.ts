import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import pg from 'pg';
import { createDb, migrateToLatest, type Db } from '@transcribe/db';
import { topologyNames } from '@transcribe/queue';
import { createStorage, type Storage } from '@transcribe/storage';
import { startDependencies, type Dependencies } from './dependencies.js';

/**
 * One test file's world: its own database (migrated), its own queue/exchange prefix and
 * its own bucket, on shared real servers, so test files run in parallel without seeing
 * each other. `env` holds the variables a service process needs to join that world.
 */
export interface TestEnv {
  deps: Dependencies;
  databaseUrl: string;
  prefix: string;
  bucket: string;
  db: Db;
  storage: Storage;
  env: Record<string, string>;
  close(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
  });
  // A dropped connection fails the awaited query; unhandled, its 'error' event would crash.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createTestEnv(): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const bucket = `t-${id}`;
  const deps = await startDependencies({ buckets: [bucket] });
  const database = `t_${id}`;
  await adminQuery(deps.databaseUrl, `CREATE DATABASE ${database}`);
  const databaseUrl = withDatabase(deps.databaseUrl, database);
  const db = createDb(databaseUrl, { max: 5 });
  await migrateToLatest(db);

  const prefix = `t${id}.`;
  const storage = createStorage({
    bucket,
    region: deps.s3.region,
    endpoint: deps.s3.endpoint,
    accessKeyId: deps.s3.accessKeyId,
    secretAccessKey: deps.s3.secretAccessKey,
    forcePathStyle: true,
  });
  if (deps.mode === 'containers') await storage.ensureBucket();

  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    AMQP_URL: deps.amqpUrl,
    AMQP_PREFIX: prefix,
    S3_ENDPOINT: deps.s3.endpoint,
    S3_REGION: deps.s3.region,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: deps.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: deps.s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    TOKEN_SECRET: randomBytes(24).toString('hex'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  };

  return {
    deps,
    databaseUrl,
    prefix,
    bucket,
    db,
    storage,
    env,
    async close() {
      await db.destroy();
      storage.destroy();
      await deleteQueues(deps.amqpUrl, prefix).catch(() => undefined);
      await adminQuery(deps.databaseUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(
        () => undefined,
      );
      await deps.stop();
    },
  };
}

async function deleteQueues(url: string, prefix: string): Promise<void> {
  const names = topologyNames(prefix);
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const queue of [
      names.jobsQueue,
      names.deadQueue,
      names.webhooksQueue,
      ...names.delayQueues,
      names.enrichQueue,
      ...names.enrichDelayQueues,
    ]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(names.eventsExchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}
