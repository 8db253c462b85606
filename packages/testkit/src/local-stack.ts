import { randomBytes } from 'node:crypto';
import { createDb, DEFAULT_DATABASE_URL, ensureDatabase, migrateToLatest } from '@transcribe/db';
import { createStorage } from '@transcribe/storage';
import { startS3Server, type S3Server } from './s3-server.js';
import { startStack, type Stack, type StackOptions } from './stack.js';

export interface LocalStackOptions {
  databaseUrl: string;
  amqpUrl: string;
  gatewayPort: number;
  notifierPort: number;
  devApiKey: string;
  /** Use an existing S3 API instead of the embedded server. */
  s3Endpoint?: string;
  s3Port?: number;
  inheritOutput?: boolean;
  /** Restart services that die (`pnpm stack`), reporting through `onEvent`. */
  restart?: boolean;
  onEvent?: StackOptions['onEvent'];
}

export interface LocalStack {
  stack: Stack;
  s3?: S3Server;
  stop(): Promise<void>;
}

/**
 * Everything `pnpm stack` and `pnpm demo` need on a machine without Docker: the database
 * created and migrated, an embedded S3 server with the bucket, and the three services.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  await ensureDatabase(options.databaseUrl);
  const db = createDb(options.databaseUrl, { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }

  const bucket = process.env.S3_BUCKET ?? 'transcribe';
  const s3 = options.s3Endpoint
    ? undefined
    : await startS3Server({ port: options.s3Port ?? 0, buckets: [bucket] });
  const endpoint = options.s3Endpoint ?? s3!.endpoint;
  const credentials = {
    accessKeyId: process.env.S3_ACCESS_KEY_ID ?? s3?.accessKeyId ?? '',
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? s3?.secretAccessKey ?? '',
  };
  if (options.s3Endpoint) {
    const storage = createStorage({
      bucket,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      ...credentials,
    });
    await storage.ensureBucket().finally(() => storage.destroy());
  }

  try {
    const stack = await startStack({
      env: {
        DATABASE_URL: options.databaseUrl,
        AMQP_URL: options.amqpUrl,
        AMQP_PREFIX: process.env.AMQP_PREFIX ?? '',
        S3_ENDPOINT: endpoint,
        S3_BUCKET: bucket,
        S3_ACCESS_KEY_ID: credentials.accessKeyId,
        S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        TOKEN_SECRET: process.env.TOKEN_SECRET ?? randomBytes(24).toString('hex'),
        DEV_API_KEY: options.devApiKey,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
      gatewayPort: options.gatewayPort,
      notifierPort: options.notifierPort,
      inheritOutput: options.inheritOutput,
      restart: options.restart,
      onEvent: options.onEvent,
    });
    return {
      stack,
      s3,
      async stop() {
        await stack.stop();
        await s3?.close();
      },
    };
  } catch (error) {
    await s3?.close();
    throw error;
  }
}

/** Defaults shared by `pnpm stack` and `pnpm demo`, from the environment. */
export function localStackOptionsFromEnv(): LocalStackOptions {
  const port = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 0 || value > 65535)
      throw new Error(`${name}: not a port`);
    return value;
  };
  return {
    databaseUrl: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    gatewayPort: port('GATEWAY_PORT', 8080),
    notifierPort: port('NOTIFIER_PORT', 8081),
    devApiKey: process.env.DEV_API_KEY ?? 'dev-local-key-change-me',
    s3Endpoint: process.env.S3_ENDPOINT,
    s3Port: port('S3_PORT', 0),
  };
}
