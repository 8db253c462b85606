/**
 * A small local stand-in for the gateway + notifier that speaks the documented wire format
 * (REST JSON, presigned PUT, events WebSocket), for testing the client and the CLI without
 * the real stack. Everything is real HTTP and WebSocket on port 0.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CloseCode,
  enrichmentKeyOf,
  parseEnrichmentKey,
  type Enrichment,
  type EnrichmentJson,
  type EnrichmentStatus,
  type CreateJobRequest,
  type CreateJobResponse,
  type ErrorBody,
  type ErrorCode,
  type Job,
  type JobEvent,
  type JobEventInput,
  type TranscriptJson,
} from '@transcribe/contracts';

export const API_KEY = 'test-api-key';
export const EVENTS_TOKEN = 'test-events-token';
export const TENANT_ID = '0190a000-0000-7000-8000-000000000001';

export interface ReceivedUpload {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeJob {
  job: Job;
  events: JobEvent[];
  text: string;
}

/** One accepted WebSocket connection: what the client asked for, and the socket. */
export interface SocketContext {
  url: URL;
  headers: IncomingHttpHeaders;
  ws: WebSocket;
  job: FakeJob | undefined;
  after: number;
  /** Sends one `{kind:'event'}` frame. */
  send(event: JobEvent): void;
}

export interface FakeApi {
  baseUrl: string;
  wsBaseUrl: string;
  uploads: Map<string, ReceivedUpload>;
  jobs: Map<string, FakeJob>;
  /** The body of every `POST /v1/jobs`, in order. */
  jobRequests: CreateJobRequest[];
  /** Every events connection attempt, in order. */
  connections: SocketContext[];
  /** Signed headers handed out with each upload. */
  signedHeaders: Record<string, string>;
  /** The events each new job will have (queued is always first). */
  script: JobEventInput[];
  /** Replaces the default socket behaviour (replay events after `after`, stay open). */
  onSocket: ((ctx: SocketContext) => void) | undefined;
  /**
   * How each enrichment asked for with `enrich` ends once its job completed (default
   * completed); a failed or canceled job cancels them all, as the gateway does.
   */
  enrichmentOutcomes: Map<string, 'completed' | 'failed' | 'canceled'>;
  addJob(script?: JobEventInput[], text?: string, enrich?: readonly string[]): FakeJob;
  close(): Promise<void>;
}

export function makeEvent(jobId: string, seq: number, input: JobEventInput): JobEvent {
  return {
    ...input,
    v: 1,
    jobId,
    tenantId: TENANT_ID,
    seq,
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
  } as JobEvent;
}

const COMPLETED_SCRIPT: JobEventInput[] = [
  { type: 'processing', attempt: 1 },
  { type: 'progress', progress: 10, stage: 'normalizing' },
  { type: 'progress', progress: 60, stage: 'transcribing' },
  { type: 'completed', durationS: 11, processingMs: 5000 },
];

export async function startFakeApi(): Promise<FakeApi> {
  const server: Server = createServer((req, res) => {
    handle(req).then(
      ({ status, body, type }) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': type ?? 'application/json' }).end(text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      },
    );
  });
  const wss = new WebSocketServer({ noServer: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const fake: FakeApi = {
    baseUrl: `http://127.0.0.1:${port}`,
    wsBaseUrl: `ws://127.0.0.1:${port}`,
    uploads: new Map(),
    jobs: new Map(),
    jobRequests: [],
    connections: [],
    signedHeaders: { 'x-amz-meta-test': 'signed-value' },
    script: COMPLETED_SCRIPT,
    onSocket: undefined,
    enrichmentOutcomes: new Map(),
    addJob,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const uploadMeta = new Map<string, { filename: string; contentType: string; size: number }>();

  /** The events of a job's enrichments: queued at creation, run or canceled at its end. */
  function enrichmentScript(
    id: string,
    script: JobEventInput[],
    keys: readonly string[],
  ): { before: JobEventInput[]; after: JobEventInput[]; enrichments: Enrichment[] } {
    const enrichments = keys.map((key) => fakeEnrichment(id, key));
    const ref = (e: Enrichment) => ({ enrichment: { id: e.id, key: e.key, kind: e.kind } });
    const before = enrichments.map(
      (e) => ({ type: 'enrichment.queued', ...ref(e) }) as JobEventInput,
    );
    const end = script.at(-1)?.type;
    const after: JobEventInput[] = [];
    for (const e of enrichments) {
      const outcome =
        end === 'completed' ? (fake.enrichmentOutcomes.get(e.key) ?? 'completed') : 'canceled';
      if (end === 'completed') {
        after.push({ type: 'enrichment.processing', ...ref(e), attempt: 1 } as JobEventInput);
        after.push({
          type: 'enrichment.progress',
          ...ref(e),
          progress: 50,
          piecesDone: 1,
          piecesTotal: 2,
        } as JobEventInput);
      }
      if (outcome === 'completed') {
        after.push({
          type: 'enrichment.completed',
          ...ref(e),
          model: 'fake-chat',
          usage: null,
          processingMs: 1500,
        } as JobEventInput);
      } else if (outcome === 'failed') {
        const error = { code: 'engine_failed' as const, message: 'the chat engine answered 500' };
        after.push({ type: 'enrichment.failed', ...ref(e), error } as JobEventInput);
        e.error = error;
      } else after.push({ type: 'enrichment.canceled', ...ref(e) } as JobEventInput);
      e.status = outcome as EnrichmentStatus;
      if (outcome === 'completed') e.progress = 100;
    }
    return { before, after, enrichments };
  }

  function fakeEnrichment(jobId: string, key: string): Enrichment {
    const { kind, targetLanguage } = parseEnrichmentKey(key);
    const timed = kind === 'clean' || kind === 'translate';
    return {
      id: randomUUID(),
      key,
      kind,
      targetLanguage,
      status: 'queued',
      progress: 0,
      piecesDone: 0,
      piecesTotal: null,
      attempts: 0,
      error: null,
      model: null,
      promptVersion: null,
      usage: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      processingMs: null,
      formats: timed ? ['txt', 'md', 'json', 'srt', 'vtt'] : ['md', 'txt', 'json'],
      links: { self: `${fake.baseUrl}/v1/jobs/${jobId}/enrichments/${key}` },
    };
  }

  function addJob(
    script: JobEventInput[] = fake.script,
    text = 'And so my fellow Americans',
    enrich: readonly string[] = [],
  ): FakeJob {
    const id = randomUUID();
    const extra = enrichmentScript(id, script, enrich);
    const job: Job = {
      id,
      status: 'queued',
      progress: 0,
      stage: 'queued',
      filename: 'jfk.wav',
      contentType: 'audio/wav',
      sizeBytes: 1,
      metadata: null,
      enrichments: extra.enrichments,
      audioDoneS: null,
      etaS: null,
      stalledSinceS: null,
      queuePosition: null,
      estimatedStartAt: null,
      webhookUrl: null,
      attempts: 0,
      durationS: null,
      language: 'en',
      requestedLanguage: 'en',
      languageSource: 'requested',
      engine: 'sphinx',
      model: null,
      priority: 'default',
      error: null,
      processingMs: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      links: {
        self: `${fake.baseUrl}/v1/jobs/${id}`,
        transcript: `${fake.baseUrl}/v1/jobs/${id}/transcript`,
        events: `${fake.wsBaseUrl}/v1/events?jobId=${id}`,
      },
    };
    const events = [
      { type: 'queued' } as JobEventInput,
      ...extra.before,
      ...script,
      ...extra.after,
    ].map((e, i) => makeEvent(id, i + 1, e));
    const last = [...events].reverse().find((e) => !e.type.startsWith('enrichment.'));
    if (last?.type === 'completed') job.status = 'completed';
    if (last?.type === 'failed') {
      job.status = 'failed';
      job.error = last.error;
    }
    const fakeJob = { job, events, text };
    fake.jobs.set(id, fakeJob);
    return fakeJob;
  }

  const error = (status: number, code: ErrorCode, message: string) => ({
    status,
    body: { error: { code, message } } satisfies ErrorBody,
  });

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; type?: string }> {
    const url = new URL(req.url ?? '/', fake.baseUrl);
    const body = await readBody(req);
    // Presigned PUT: authorised by the URL, not by the API key.
    const put = /^\/bucket\/([^/]+)$/.exec(url.pathname);
    if (put && req.method === 'PUT') {
      const meta = uploadMeta.get(put[1] ?? '');
      if (!meta || req.headers['content-type'] !== meta.contentType) {
        return { status: 403, body: '<Error><Code>SignatureDoesNotMatch</Code></Error>' };
      }
      fake.uploads.set(put[1] ?? '', { headers: req.headers, body });
      return { status: 200, body: '' };
    }
    if (req.headers.authorization !== `Bearer ${API_KEY}`) {
      return error(401, 'unauthorized', 'missing or invalid API key');
    }
    if (req.method === 'POST' && url.pathname === '/v1/uploads') {
      const input = JSON.parse(body.toString()) as {
        filename: string;
        contentType: string;
        sizeBytes: number;
      };
      const uploadId = randomUUID();
      uploadMeta.set(uploadId, { ...input, size: input.sizeBytes });
      return {
        status: 201,
        body: {
          uploadId,
          method: 'PUT',
          url: `${fake.baseUrl}/bucket/${uploadId}?X-Amz-Signature=abc`,
          headers: { 'content-type': input.contentType, ...fake.signedHeaders },
          expiresAt: new Date(Date.now() + 900_000).toISOString(),
        },
      };
    }
    if (req.method === 'POST' && url.pathname === '/v1/jobs') {
      const input = JSON.parse(body.toString()) as CreateJobRequest;
      fake.jobRequests.push(input);
      if (!fake.uploads.has(input.uploadId)) {
        return error(409, 'upload_missing', 'nothing was uploaded for this upload id yet');
      }
      const { job } = addJob(fake.script, undefined, (input.enrich ?? []).map(enrichmentKeyOf));
      const response: CreateJobResponse = {
        ...job,
        status: 'queued',
        error: null,
        links: { ...job.links, events: `${job.links.events}&token=${EVENTS_TOKEN}` },
        eventsToken: EVENTS_TOKEN,
        eventsTokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      };
      return { status: 202, body: response };
    }
    const m = /^\/v1\/jobs\/([^/]+)(\/transcript|\/events|\/enrichments(?:\/([^/]+))?)?$/.exec(
      url.pathname,
    );
    const found = m ? fake.jobs.get(m[1] ?? '') : undefined;
    if (!m || !found || req.method !== 'GET') return error(404, 'not_found', 'not found');
    if (m[2]?.startsWith('/enrichments')) {
      if (m[3] === undefined) return { status: 200, body: { data: found.job.enrichments } };
      return enrichmentResult(found, decodeURIComponent(m[3]), url.searchParams.get('format'));
    }
    if (m[2] === '/events') {
      const after = Number(url.searchParams.get('after') ?? 0);
      return { status: 200, body: { events: found.events.filter((e) => e.seq > after) } };
    }
    if (m[2] === '/transcript') {
      if (found.job.status !== 'completed') {
        return error(409, 'job_not_completed', `job is ${found.job.status}`);
      }
      const format = url.searchParams.get('format');
      if (format === 'txt') {
        return { status: 200, body: `${found.text}\n`, type: 'text/plain; charset=utf-8' };
      }
      if (format === 'srt') {
        const body = `1\n00:00:00,000 --> 00:00:02,500\n${found.text}\n`;
        return { status: 200, body, type: 'application/x-subrip; charset=utf-8' };
      }
      if (format === 'vtt') {
        const body = `WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n${found.text}\n`;
        return { status: 200, body, type: 'text/vtt; charset=utf-8' };
      }
      const transcript: TranscriptJson = {
        jobId: found.job.id,
        text: found.text,
        segments: [{ start: 0, end: 2.5, text: found.text }],
        words: [],
        complete: true,
        language: 'en',
        requestedLanguage: 'en',
        languageSource: 'requested',
        durationS: 11,
        engine: 'sphinx',
        model: null,
        processingMs: 5000,
      };
      return { status: 200, body: transcript };
    }
    return { status: 200, body: found.job };
  }

  /** A completed enrichment as `<key> as <format>` (json: the EnrichmentJson), else 409. */
  function enrichmentResult(found: FakeJob, key: string, asked: string | null) {
    const e = found.job.enrichments.find((x) => x.key === key);
    if (!e) return error(404, 'not_found', `enrichment ${key} not found`);
    const format = asked ?? (e.kind === 'summary' || e.kind === 'notes' ? 'md' : 'txt');
    if (!(e.formats as string[]).includes(format)) {
      return error(400, 'validation_failed', `format: ${e.kind} has no ${format}`);
    }
    if (e.status !== 'completed') {
      return error(409, 'enrichment_not_completed', `enrichment ${key} is ${e.status}`);
    }
    const text = `${key} as ${format}`;
    if (format === 'json') {
      const body: EnrichmentJson = {
        ...e,
        jobId: found.job.id,
        text,
        result: { shape: 'markdown', markdown: text },
      };
      return { status: 200, body };
    }
    return { status: 200, body: `${text}\n`, type: 'text/plain; charset=utf-8' };
  }

  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const url = new URL(req.url ?? '/', fake.wsBaseUrl);
      const job = fake.jobs.get(url.searchParams.get('jobId') ?? '');
      const ctx: SocketContext = {
        url,
        headers: req.headers,
        ws,
        job,
        after: Number(url.searchParams.get('after') ?? 0),
        send: (event) => ws.send(JSON.stringify({ kind: 'event', event })),
      };
      fake.connections.push(ctx);
      const authorised =
        url.searchParams.get('token') === EVENTS_TOKEN ||
        req.headers.authorization === `Bearer ${API_KEY}`;
      if (!authorised) return ws.close(CloseCode.Unauthorized, 'unauthorized');
      if (!job) return ws.close(CloseCode.NotFound, 'job not found');
      if (fake.onSocket) return fake.onSocket(ctx);
      for (const event of job.events) if (event.seq > ctx.after) ctx.send(event);
    });
  });

  return fake;
}
