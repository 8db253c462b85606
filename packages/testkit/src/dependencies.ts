import { existsSync } from 'node:fs';
import { startS3Server } from './s3-server.js';

/** Where the real Postgres, RabbitMQ and S3 that tests use live. */
export interface Dependencies {
  /** A URL whose user may CREATE DATABASE. */
  databaseUrl: string;
  amqpUrl: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
  mode: 'containers' | 'local';
  stop(): Promise<void>;
}

function dockerAvailable(): boolean {
  if (process.env.DOCKER_HOST) return true;
  return existsSync('/var/run/docker.sock');
}

/**
 * TEST_DEPS=containers starts Postgres, RabbitMQ and MinIO with testcontainers; =local uses
 * DATABASE_URL and AMQP_URL (default: the local services) and an embedded S3 server.
 * Unset: containers where a Docker engine is reachable, local otherwise.
 */
export async function startDependencies(
  options: { buckets?: string[] } = {},
): Promise<Dependencies> {
  const wanted = process.env.TEST_DEPS ?? (dockerAvailable() ? 'containers' : 'local');
  if (wanted === 'containers') return startContainers();
  if (wanted !== 'local')
    throw new Error(`TEST_DEPS must be "containers" or "local", not "${wanted}"`);
  const s3 = await startS3Server({ buckets: options.buckets });
  return {
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    s3,
    mode: 'local',
    stop: () => s3.close(),
  };
}

async function startContainers(): Promise<Dependencies> {
  // Loaded lazily: testcontainers is heavy and unused where there is no Docker engine.
  const [{ PostgreSqlContainer }, { RabbitMQContainer }, { MinioContainer }] = await Promise.all([
    import('@testcontainers/postgresql'),
    import('@testcontainers/rabbitmq'),
    import('@testcontainers/minio'),
  ]);
  const [pg, mq, minio] = await Promise.all([
    new PostgreSqlContainer('postgres:16-alpine').start(),
    new RabbitMQContainer('rabbitmq:3.13-alpine').start(),
    new MinioContainer('minio/minio:RELEASE.2025-04-22T22-12-26Z').start(),
  ]);
  return {
    databaseUrl: pg.getConnectionUri(),
    amqpUrl: mq.getAmqpUrl(),
    s3: {
      endpoint: minio.getConnectionUrl(),
      accessKeyId: minio.getUsername(),
      secretAccessKey: minio.getPassword(),
      region: 'us-east-1',
    },
    mode: 'containers',
    async stop() {
      await Promise.all([pg.stop(), mq.stop(), minio.stop()]);
    },
  };
}
