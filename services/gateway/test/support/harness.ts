// The gateway in-process on real Postgres, RabbitMQ and an S3 API server, with two tenants,
// a consumer recording what reaches the jobs queue, and request helpers.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ErrorBody,
  PutUploadResponse,
  TranscribeMessage,
  type ErrorCode,
} from '@transcribe/contracts';
import { connectBroker, type Broker, type OutboxRelay } from '@transcribe/queue';
import { createStorage, type Storage } from '@transcribe/storage';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import {
  createTestEnv,
  seedTenant,
  startTestRelay,
  type TestEnv,
} from '../../../../packages/testkit/src/index.js';
import { createGatewayApp } from '../../src/app.js';
import { handleClientErrors } from '../../src/client-error.js';
import type { GatewayDeps, GatewaySettings } from '../../src/deps.js';
import { audioFixture } from '../../../../packages/testkit/src/fixtures.js';

export const JFK = audioFixture('jfk.wav');
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

export interface ApiInit {
  method?: string;
  key?: string | null;
  body?: unknown;
  rawBody?: string | Buffer | FormData;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A response the harness saw, for checking against the OpenAPI document. */
export interface RecordedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  json: unknown;
}

export interface GatewayHarness {
  /** Every response `api` received, in order. */
  responses: RecordedResponse[];
  env: TestEnv;
  storage: Storage;
  broker: Broker;
  relay: OutboxRelay;
  deps: GatewayDeps;
  base: string;
  keyA: string;
  keyB: string;
  tenantA: string;
  tenantB: string;
  jfk: Buffer;
  /** Messages seen on `<prefix>transcribe.jobs`, by an independent consumer. */
  jobMessages: { body: TranscribeMessage; raw: string }[];
  listen(deps: GatewayDeps): Promise<string>;
  api(path: string, init?: ApiInit, at?: string): Promise<ApiResponse>;
  createUpload(
    input: { filename?: string; contentType?: string; sizeBytes: number },
    key?: string,
    at?: string,
  ): Promise<PutUploadResponse>;
  put(upload: PutUploadResponse, bytes: Buffer, headers?: Record<string, string>): Promise<number>;
  uploadJfk(key?: string): Promise<PutUploadResponse>;
  uploadBytes(
    filename: string,
    contentType: string,
    bytes: Buffer,
    key?: string,
  ): Promise<PutUploadResponse>;
  objectKeyOf(uploadId: string): Promise<string>;
  createJob(uploadId: string, key?: string, extra?: Record<string, unknown>): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** Asserts the status and that the body is a well-formed `{error: {code, message}}` with this code. */
export function expectError(
  res: { status: number; json: unknown },
  status: number,
  code: ErrorCode,
) {
  expect({ status: res.status, code: (res.json as ErrorBody | undefined)?.error?.code }).toEqual({
    status,
    code,
  });
  const parsed = ErrorBody.parse(res.json);
  expect(parsed.error.message.length).toBeGreaterThan(0);
  return parsed.error;
}

export async function startGatewayHarness(
  overrides: { settings?: Partial<GatewaySettings>; deps?: Partial<GatewayDeps> } = {},
): Promise<GatewayHarness> {
  const env = await createTestEnv();
  const jfk = await readFile(JFK);
  const { id: tenantA, apiKey: keyA } = await seedTenant(env.db, 'tenant-a', {
    apiKey: `tk_test_a_${randomBytes(12).toString('hex')}`,
    keyName: 'a',
  });
  const { id: tenantB, apiKey: keyB } = await seedTenant(env.db, 'tenant-b', {
    apiKey: `tk_test_b_${randomBytes(12).toString('hex')}`,
    keyName: 'b',
  });

  const storage = createStorage({
    bucket: env.env.S3_BUCKET!,
    region: env.env.S3_REGION!,
    endpoint: env.env.S3_ENDPOINT,
    accessKeyId: env.env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.env.S3_SECRET_ACCESS_KEY,
    forcePathStyle: true,
  });
  // A poll far beyond any wait in the tests: a job's message arriving at all proves the
  // route kicked the relay.
  const outbox = await startTestRelay(env, { pollMs: 24 * 60 * 60_000 });
  const { broker, relay } = outbox;
  const deps: GatewayDeps = {
    db: env.db,
    storage,
    broker,
    relay,
    logger: createLogger('gateway', 'silent'),
    registry: createRegistry('gateway'),
    links: { api: 'http://placeholder', events: 'ws://events.test' },
    settings: {
      tokenSecret: env.env.TOKEN_SECRET!,
      maxUploadBytes: MAX_UPLOAD_BYTES,
      maxFormUploadBytes: MAX_UPLOAD_BYTES,
      uploadUrlTtlS: 300,
      multipartTtlS: 3600,
      eventsTokenTtlS: 600,
      engines: ['sphinx'],
      ...overrides.settings,
    },
    ...overrides.deps,
  };

  const servers: Server[] = [];
  async function listen(d: GatewayDeps): Promise<string> {
    const server = createGatewayApp(d).listen(0, '127.0.0.1');
    // Longer than the client's idle keep-alive, so a busy machine cannot make the server drop a
    // socket the client is about to reuse ("fetch failed").
    server.keepAliveTimeout = 65_000;
    handleClientErrors(server);
    await new Promise<void>((resolve) => server.once('listening', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const base = await listen(deps);
  deps.links.api = base;

  const jobMessages: GatewayHarness['jobMessages'] = [];
  const consumer = connectBroker({ url: env.env.AMQP_URL!, prefix: env.prefix });
  await consumer.consume(
    consumer.names.jobsQueue,
    async (body, ctx) => {
      const raw = body.toString();
      jobMessages.push({ body: TranscribeMessage.parse(JSON.parse(raw)), raw });
      ctx.ack();
    },
    { prefetch: 10 },
  );

  const responses: RecordedResponse[] = [];
  async function api(path: string, init: ApiInit = {}, at = base): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...init.headers };
    const key = init.key === undefined ? keyA : init.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | Buffer | FormData | undefined;
    if (init.rawBody !== undefined || init.body !== undefined) {
      if (!(init.rawBody instanceof FormData)) headers['content-type'] ??= 'application/json';
      body = init.rawBody ?? JSON.stringify(init.body);
    }
    const res = await fetch(`${at}${path}`, { method: init.method ?? 'GET', headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    responses.push({
      method: init.method ?? 'GET',
      path: new URL(path, at).pathname,
      status: res.status,
      contentType: res.headers.get('content-type'),
      json,
    });
    return { status: res.status, headers: res.headers, text, json };
  }

  async function createUpload(
    input: { filename?: string; contentType?: string; sizeBytes: number },
    key = keyA,
    at = base,
  ) {
    const res = await api(
      '/v1/uploads',
      {
        method: 'POST',
        key,
        body: {
          filename: input.filename ?? 'jfk.wav',
          contentType: input.contentType ?? 'audio/wav',
          sizeBytes: input.sizeBytes,
        },
      },
      at,
    );
    expect(res.status).toBe(201);
    return PutUploadResponse.parse(res.json);
  }

  async function put(upload: PutUploadResponse, bytes: Buffer, headers = upload.headers) {
    const res = await fetch(upload.url, { method: upload.method, headers, body: bytes });
    await res.arrayBuffer();
    return res.status;
  }

  async function uploadBytes(filename: string, contentType: string, bytes: Buffer, key = keyA) {
    const upload = await createUpload({ filename, contentType, sizeBytes: bytes.length }, key);
    expect(await put(upload, bytes)).toBe(200);
    return upload;
  }

  return {
    responses,
    env,
    storage,
    broker,
    relay,
    deps,
    base,
    keyA,
    keyB,
    tenantA,
    tenantB,
    jfk,
    jobMessages,
    listen,
    api,
    createUpload,
    put,
    uploadBytes,
    uploadJfk: (key = keyA) => uploadBytes('jfk.wav', 'audio/wav', jfk, key),
    async objectKeyOf(uploadId) {
      const row = await env.db
        .selectFrom('uploads')
        .select('object_key')
        .where('id', '=', uploadId)
        .executeTakeFirstOrThrow();
      return row.object_key;
    },
    createJob: (uploadId, key = keyA, extra = {}) =>
      api('/v1/jobs', { method: 'POST', key, body: { uploadId, ...extra } }),
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await outbox.relay.stop();
      await consumer.close();
      await outbox.broker.close();
      storage.destroy();
      await env.close();
    },
  };
}

/**
 * The storage, with every key it uploads pushed onto `keys`: lets a test prove that a
 * refused form upload left no object behind (s3rver cannot list the bucket).
 */
export function recordingUploads(real: Storage, keys: string[]): Storage {
  return {
    ...real,
    bucket: real.bucket,
    upload: (key, ...rest) => {
      keys.push(key);
      return real.upload(key, ...rest);
    },
  };
}
