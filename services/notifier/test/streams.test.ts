// Protocol v1 on real Postgres and RabbitMQ: subprotocol credentials, tenant-wide streams
// and their cursors, the per-tenant connection limit, Server-Sent Events, frame extras,
// and a broker connection closed from the broker's side.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, Socket } from 'node:net';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import {
  CloseCode,
  EVENTS_SUBPROTOCOL,
  EventFrame,
  ServerFrame,
  TenantServerFrame,
  type JobEvent,
  type TenantServerFrame as Frame,
} from '@transcribe/contracts';
import { createTestEnv, type TestEnv } from '../../../packages/testkit/src/index.js';
import {
  Harness,
  range,
  sleep,
  waitFor,
  type Job,
  type RunningNotifier,
  type Tenant,
} from './support/harness.js';
import { readSse } from './support/read-sse.js';

let env: TestEnv;
let h: Harness;
let notifier: RunningNotifier;
let tenantA: Tenant;
let tenantB: Tenant;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  notifier = await h.startNotifier({ publicApiUrl: 'https://api.example.test/' });
  [tenantA, tenantB] = await Promise.all([h.createTenant(), h.createTenant()]);
});

afterAll(async () => {
  await h?.stop();
  await env?.close();
});

const bearer = (tenant: Tenant) => ({ authorization: `Bearer ${tenant.apiKey}` });

interface Frames {
  socket: WebSocket;
  frames: Frame[];
  events: () => JobEvent[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a socket and records every frame, validated against the tenant-stream contract. */
function frames(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}) {
  const { protocols, ...clientOptions } = options;
  const ws = h.socket(url, clientOptions, protocols);
  const got: Frame[] = [];
  ws.on('message', (data) => got.push(TenantServerFrame.parse(JSON.parse(String(data)))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const result: Frames = {
    socket: ws,
    frames: got,
    events: () => got.flatMap((f) => (f.kind === 'event' ? [f.event] : [])),
    closed,
  };
  return result;
}

const key = (e: JobEvent) => `${e.jobId}:${e.seq}`;

describe('subprotocol credentials (browsers)', () => {
  let job: Job;
  beforeAll(async () => {
    job = await h.createJob(tenantA);
    await h.append(job, { type: 'queued' });
    await h.complete(job);
  });

  it('accepts an events token in Sec-WebSocket-Protocol and selects transcribe.v1', async () => {
    const url = notifier.eventsUrl(job.id);
    const f = frames(url, { protocols: [EVENTS_SUBPROTOCOL, `token.${h.tokenFor(job)}`] });
    await once(f.socket, 'open');
    expect(f.socket.protocol).toBe(EVENTS_SUBPROTOCOL);
    await waitFor(() => f.frames.length === 2, { what: 'replay' });
    expect(f.events().map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'completed'],
    ]);
    f.socket.close();
  });

  it('accepts an API key in Sec-WebSocket-Protocol', async () => {
    const f = frames(notifier.eventsUrl(job.id), {
      protocols: [EVENTS_SUBPROTOCOL, `key.${tenantA.apiKey}`],
    });
    await waitFor(() => f.frames.length === 2, { what: 'replay' });
    f.socket.close();
  });

  it('closes with 4401 for a bad token in the subprotocol and 4404 for a foreign job', async () => {
    const bad = frames(notifier.eventsUrl(job.id), {
      protocols: [EVENTS_SUBPROTOCOL, 'token.abc.def'],
    });
    expect((await bad.closed).code).toBe(CloseCode.Unauthorized);
    const foreign = frames(notifier.eventsUrl(job.id), {
      protocols: [EVENTS_SUBPROTOCOL, `key.${tenantB.apiKey}`],
    });
    expect((await foreign.closed).code).toBe(CloseCode.NotFound);
    expect([...bad.frames, ...foreign.frames]).toEqual([]);
  });
});

describe('tenant-wide streams', () => {
  it('delivers every event of two jobs, and a resume from a cursor gets the rest exactly once', async () => {
    const tenant = await h.createTenant();
    const [one, two] = await Promise.all([h.createJob(tenant), h.createJob(tenant)]);
    const other = await h.createJob(tenantB);
    await h.append(one, { type: 'queued' }); // just before the stream starts

    const first = frames(notifier.tenantUrl(), { headers: bearer(tenant) });
    await waitFor(() => first.frames[0]?.kind === 'ready', { what: 'ready frame' });

    const producing = (async () => {
      for (let i = 1; i <= 15; i++) {
        await h.progress(one, i * 5);
        await h.progress(two, i * 5);
        await h.progress(other, i * 5);
        await sleep(3);
      }
      await h.complete(one);
      await h.complete(two);
    })();
    // Drop the connection mid-way, like a client that lost its network.
    await waitFor(() => first.events().length >= 9, { what: 'first events' });
    first.socket.terminate();
    const seen = first.frames.slice(1);
    const last = seen.at(-1)!;
    if (last.kind !== 'event') throw new Error(`expected an event frame, got ${last.kind}`);
    await producing;

    const second = frames(notifier.tenantUrl({ after: last.cursor! }), { headers: bearer(tenant) });
    const total = 16 + 16; // at least: one's queued event may also be part of the stream
    await waitFor(() => seen.length + second.events().length >= total, {
      what: 'every event of both jobs',
    });
    await sleep(100); // nothing more may come
    second.socket.close();

    const all = [...seen.flatMap((f) => (f.kind === 'event' ? [f.event] : [])), ...second.events()];
    expect(all.every((e) => e.tenantId === tenant.id)).toBe(true);
    expect(new Set(all.map(key)).size).toBe(all.length); // no duplicates
    for (const job of [one, two]) {
      const seqs = all.filter((e) => e.jobId === job.id).map((e) => e.seq);
      // "From now" starts at the oldest transaction still running on the server, so one's
      // queued event, committed just before, may or may not be part of the stream.
      const from = job === one ? seqs[0]! : 1;
      expect([1, 2]).toContain(from);
      expect(seqs).toEqual(range(from, job === one ? 17 : 16));
    }
    // Cursors increase strictly along the stream.
    const cursors = [...seen, ...second.frames].flatMap((f) =>
      f.kind === 'event' ? [f.cursor!] : [],
    );
    const asPairs = cursors.map((c) => c.split('-').map(BigInt) as [bigint, bigint]);
    for (let i = 1; i < asPairs.length; i++) {
      const [t0, i0] = asPairs[i - 1]!;
      const [t1, i1] = asPairs[i]!;
      expect(t1 > t0 || (t1 === t0 && i1 > i0)).toBe(true);
    }
  }, 40_000);

  it('accepts a tenant-wide token, refuses a one-job token for it, and 4400 for a bad cursor', async () => {
    const tenant = await h.createTenant();
    const job = await h.createJob(tenant);
    const f = frames(notifier.tenantUrl({ token: h.tenantToken(tenant) }));
    await waitFor(() => f.frames.length === 1, { what: 'ready' });
    await h.progress(job, 10);
    await waitFor(() => f.events().length === 1, { what: 'live event' });
    expect(f.events()[0]).toMatchObject({ jobId: job.id, type: 'progress', seq: 1 });
    f.socket.close();

    const narrow = frames(notifier.tenantUrl({ token: h.tokenFor(job) }));
    expect((await narrow.closed).code).toBe(CloseCode.Unauthorized);
    const bad = frames(notifier.tenantUrl({ after: 'yesterday' }), { headers: bearer(tenant) });
    expect((await bad.closed).code).toBe(CloseCode.BadRequest);
    // A tenant token still reaches one job of that tenant, not another tenant's.
    const theirs = await h.createJob(tenantB);
    const foreign = frames(notifier.eventsUrl(theirs.id, { token: h.tenantToken(tenant) }));
    expect((await foreign.closed).code).toBe(CloseCode.NotFound);
  });
});

describe('frame extras', () => {
  it('progress frames carry an ETA from the progress rate; completed frames carry links', async () => {
    const job = await h.createJob(tenantA);
    await h.progress(job, 10);
    await sleep(50);
    await h.progress(job, 20);
    await h.complete(job);
    const f = frames(notifier.eventsUrl(job.id), { headers: bearer(tenantA) });
    await waitFor(() => f.frames.length === 3, { what: 'replay' });
    f.socket.close();
    const [p1, p2, done] = f.frames.map((fr) => EventFrame.parse(fr));
    expect(p1!.etaS).toBeUndefined();
    expect(p2!.etaS).toBeGreaterThan(0);
    expect(done!.links).toEqual({
      job: `https://api.example.test/v1/jobs/${job.id}`,
      transcript: `https://api.example.test/v1/jobs/${job.id}/transcript?format=json`,
    });
  });
});

describe('connection limit per tenant', () => {
  it('closes the connection over the limit with 4429; other tenants and later connections are fine', async () => {
    const limited = await h.startNotifier({ maxConnectionsPerTenant: 2 });
    const tenant = await h.createTenant();
    const job = await h.createJob(tenant);
    const url = limited.eventsUrl(job.id, { token: h.tokenFor(job) });
    const a = frames(url);
    const b = frames(url);
    await waitFor(() => limited.notifier.hub.size === 2, { what: 'two admitted' });
    const c = frames(limited.tenantUrl(), { headers: bearer(tenant) });
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.TooManyConnections);
    expect(closed.reason).toMatch(/at most 2/);
    // SSE streams count against the same limit, and are refused with an HTTP 429.
    const sse = await fetch(limited.sseUrl({ jobId: job.id }), { headers: bearer(tenant) });
    expect(sse.status).toBe(429);
    expect(await sse.json()).toMatchObject({ error: { code: 'rate_limited' } });

    const otherJob = await h.createJob(tenantB);
    const d = frames(limited.eventsUrl(otherJob.id), { headers: bearer(tenantB) });
    await waitFor(() => limited.notifier.hub.size === 3, { what: 'another tenant admitted' });

    a.socket.close();
    await waitFor(() => limited.notifier.hub.size === 2, { what: 'slot freed' });
    const e = frames(url);
    await waitFor(() => limited.notifier.hub.size === 3, { what: 'admitted again' });
    for (const f of [b, d, e]) expect(f.socket.readyState).toBe(WebSocket.OPEN);
    await limited.stop();
  });
});

/** Reads an SSE response into events until `until` or the end of the body. */
describe('Server-Sent Events', () => {
  it('streams a job: replay then live, ids are seqs; Last-Event-ID resumes exactly after', async () => {
    const job = await h.createJob(tenantA);
    await h.append(job, { type: 'queued' });
    const reading = readSse(notifier.sseUrl({ jobId: job.id }), {
      headers: bearer(tenantA),
      until: (events) => events.length === 4,
    });
    await waitFor(() => notifier.notifier.hub.size >= 1, { what: 'admission' });
    await h.progress(job, 30);
    await h.progress(job, 60);
    await h.progress(job, 90);
    const got = await reading;
    expect(got.status).toBe(200);
    expect(got.headers!.get('content-type')).toMatch(/^text\/event-stream/);
    expect(got.events.map((e) => [e.id, e.type])).toEqual([
      ['1', 'queued'],
      ['2', 'progress'],
      ['3', 'progress'],
      ['4', 'progress'],
    ]);
    for (const e of got.events) ServerFrame.parse(e.data);

    await h.complete(job);
    const resumed = await readSse(notifier.sseUrl({ jobId: job.id, token: h.tokenFor(job) }), {
      headers: { 'last-event-id': '3' },
      until: (events) => events.some((e) => e.type === 'completed'),
    });
    expect(resumed.events.map((e) => e.id)).toEqual(['4', '5']);
  });

  it('sends heartbeat comments and serves the tenant stream with cursor ids', async () => {
    const beating = await h.startNotifier({ heartbeatMs: 50 });
    const tenant = await h.createTenant();
    const job = await h.createJob(tenant);
    const reading = readSse(beating.sseUrl(), {
      headers: bearer(tenant),
      until: (events) => events.length === 2,
    });
    await waitFor(() => beating.notifier.hub.size === 1, { what: 'admission' });
    await sleep(200);
    await h.progress(job, 50);
    const got = await reading;
    expect(got.comments).toBeGreaterThanOrEqual(2);
    expect(got.events[0]!.type).toBe('ready');
    expect(got.events[1]!.type).toBe('progress');
    expect(got.events[1]!.id).toMatch(/^\d+-\d+$/);
    expect(got.events[1]!.id).toBe((got.events[1]!.data as { cursor: string }).cursor);
    await beating.stop();
  });

  it('answers refusals with HTTP statuses and JSON errors', async () => {
    const job = await h.createJob(tenantA);
    const until = () => true;
    expect((await readSse(notifier.sseUrl({ jobId: job.id }), { until })).status).toBe(401);
    const foreign = await readSse(notifier.sseUrl({ jobId: job.id }), {
      headers: bearer(tenantB),
      until,
    });
    expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const bad = await readSse(notifier.sseUrl({ jobId: 'nope' }), {
      headers: bearer(tenantA),
      until,
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  });
});

describe('Server-Sent Events, slow reader', () => {
  it('ends a stream that does not read with event: close 4408, like the WebSocket', async () => {
    const small = await h.startNotifier({ maxBufferedBytes: 64 * 1024 });
    const job = await h.createJob(tenantA);
    const { port } = new URL(small.httpUrl);
    // A raw HTTP client that stops reading after the headers.
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `GET /v1/events/sse?jobId=${job.id}&token=${h.tokenFor(job)} HTTP/1.1\r\nhost: x\r\n\r\n`,
    );
    await waitFor(() => small.notifier.hub.size === 1, { what: 'admission' });
    socket.pause();
    const stage = 'x'.repeat(32 * 1024);
    let produced = 0;
    while (small.notifier.hub.size === 1 && produced < 1500) {
      await h.append(
        job,
        ...Array.from({ length: 10 }, () => ({ type: 'progress' as const, progress: 50, stage })),
      );
      produced += 10;
      await sleep(10);
    }
    expect(small.notifier.hub.size).toBe(0);
    let body = '';
    socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
    socket.resume();
    await once(socket, 'end');
    const close = /event: close\ndata: (.*)\n\n/.exec(body);
    expect(JSON.parse(close![1]!)).toMatchObject({ code: CloseCode.TooSlow });
    socket.destroy();
    await small.stop();
  }, 60_000);
});

describe('broker connection lost', () => {
  const run = promisify(execFile);
  const amqpSockets = () =>
    new Set(
      (process as unknown as { _getActiveHandles(): unknown[] })
        ._getActiveHandles()
        .filter(
          (s): s is Socket =>
            s instanceof Socket && s.remotePort === Number(new URL(env.deps.amqpUrl).port || 5672),
        ),
    );

  it('keeps its clients when RabbitMQ closes its connection, and fills what was missed', async () => {
    // rabbitmqctl reaches the local broker only, not one in a container.
    if (env.deps.mode !== 'local') return;
    const before = amqpSockets();
    const own = await h.startNotifier();
    const mine = [...amqpSockets()].filter((s) => !before.has(s));
    expect(mine).toHaveLength(1);
    const localPort = mine[0]!.localPort;

    const job = await h.createJob(tenantA);
    const follower = h.follow(own.eventsUrl(job.id, { token: h.tokenFor(job) }), {
      timeoutMs: 60_000,
    });
    await h.progress(job, 1);
    await waitFor(() => follower.events.length === 1, { what: 'first event' });

    // Close exactly this notifier's connection, from the broker's side.
    const { stdout } = await run('rabbitmqctl', [
      '-q',
      'list_connections',
      'pid',
      'peer_port',
      '--no-table-headers',
    ]);
    const pid = stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find(([, port]) => Number(port) === localPort)?.[0];
    expect(pid).toMatch(/^<.+>$/);
    await run('rabbitmqctl', ['-q', 'close_connection', pid!, 'test: broker side']);
    await waitFor(() => !own.broker!.isConnected(), { what: 'disconnect' });
    // Published while this notifier has no queue: only the resync after reconnect finds it.
    await h.progress(job, 2);
    await waitFor(() => own.broker!.isConnected(), { what: 'reconnect' });
    // No later event reveals the gap: the re-read after resubscribing must find it.
    await waitFor(() => follower.events.length === 2, { what: 'missed event' });
    await h.progress(job, 3);
    await h.complete(job);
    const got = await follower.finished;
    expect(got.seqs).toEqual([1, 2, 3, 4]);
    expect(got.closeCode).toBeUndefined();
  }, 60_000);
});
