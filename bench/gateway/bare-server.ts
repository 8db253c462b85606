// The baseline server of the gateway suite (issue 18), forked as its own process: bare
// express with the best-known technique and nothing else. No auth, no validation, no S3.
//   POST /v1/jobs: one INSERT into `bare_jobs` (a copy of the jobs table: its columns,
//   defaults, constraints and indexes) from a pg pool, then one publish on a confirm
//   channel, answered when the broker confirmed it; 202 with a JSON body.
//   POST /v1/uploads: a JSON answer of the presign's size, nothing else.
// express, pg and amqplib are loaded from the packages that use them (bench has no deps).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

interface Req {
  body: { uploadId?: string; language?: string };
}
interface Res {
  status(code: number): Res;
  json(body: unknown): void;
}
interface App {
  use(handler: unknown): void;
  post(path: string, handler: (req: Req, res: Res) => void): void;
  listen(port: number, host: string, cb: () => void): { address(): AddressInfo | string | null };
}
interface Express {
  (): App;
  json(options: { limit: string }): unknown;
}
interface Pool {
  query(text: string, values: unknown[]): Promise<unknown>;
}
interface ConfirmChannel {
  assertQueue(name: string, options: { durable: boolean }): Promise<unknown>;
  publish(
    exchange: string,
    key: string,
    body: Buffer,
    options: { persistent: boolean; contentType: string; messageId: string },
    cb: (err: unknown) => void,
  ): boolean;
}

const root = new URL('../../', import.meta.url);
const load = (pkg: string, name: string) =>
  createRequire(new URL(`${pkg}/package.json`, root))(name);
const express = load('services/gateway', 'express') as Express;
const pg = load('packages/db', 'pg') as { Pool: new (o: object) => Pool };
const amqp = load('packages/queue', 'amqplib') as {
  connect(url: string): Promise<{ createConfirmChannel(): Promise<ConfirmChannel> }>;
};

const databaseUrl = process.env.DATABASE_URL!;
const queue = `${process.env.AMQP_PREFIX ?? ''}bare.jobs`;
// The gateway's pool size (10) and its connection's settings.
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
const connection = await amqp.connect(process.env.AMQP_URL!);
const channel = await connection.createConfirmChannel();
await channel.assertQueue(queue, { durable: true });

const app = express();
app.use(express.json({ limit: '64kb' }));
const presignAnswer = process.env.PRESIGN_ANSWER ?? '{}';
app.post('/v1/uploads', (_req, res) => {
  res.status(201).json(JSON.parse(presignAnswer) as unknown);
});
app.post('/v1/jobs', (req, res) => {
  const id = randomUUID();
  const uploadId = req.body.uploadId ?? randomUUID();
  const language = req.body.language ?? 'en';
  pool
    .query(
      `INSERT INTO bare_jobs (id, tenant_id, upload_id, status, stage, priority, object_key, filename,
         content_type, size_bytes, language, engine)
       VALUES ($1, $2, $3, 'queued', 'queued', 'default', $4, 'bench.wav', 'audio/wav', $5, $6, 'sphinx')`,
      [id, process.env.TENANT_ID, uploadId, `bench/${uploadId}/bench.wav`, 3244, language],
    )
    .then(
      () =>
        new Promise<void>((resolve, reject) => {
          const message = Buffer.from(
            JSON.stringify({ jobId: id, tenantId: process.env.TENANT_ID }),
          );
          channel.publish(
            '',
            queue,
            message,
            { persistent: true, contentType: 'application/json', messageId: id },
            (err) => (err ? reject(err as Error) : resolve()),
          );
        }),
    )
    .then(
      () =>
        res
          .status(202)
          .json({ id, status: 'queued', uploadId, language, createdAt: new Date().toISOString() }),
      (error: unknown) => res.status(500).json({ error: String(error) }),
    );
});
const server = app.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
