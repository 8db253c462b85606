// The notifier in-process against real Postgres and RabbitMQ: events are appended the way
// workers append them and published by a real outbox relay; clients are real ws sockets.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { CloseCode, signEventsToken } from '@transcribe/contracts';
import { createTestEnv, collectEvents, type TestEnv } from '../../../packages/testkit/src/index.js';
import {
  Harness,
  range,
  sleep,
  waitFor,
  type Job,
  type RunningNotifier,
  type Tenant,
} from './support/harness.js';

let env: TestEnv;
let h: Harness;
let first: RunningNotifier;
let second: RunningNotifier;
let tenantA: Tenant;
let tenantB: Tenant;

beforeAll(async () => {
  env = await createTestEnv();
  h = new Harness(env);
  await h.start();
  [first, second] = await Promise.all([h.startNotifier(), h.startNotifier()]);
  [tenantA, tenantB] = await Promise.all([h.createTenant(), h.createTenant()]);
});

afterAll(async () => {
  await h?.stop();
  await env?.close();
});

const bearer = (tenant: Tenant) => ({ authorization: `Bearer ${tenant.apiKey}` });

/** A job with a queued and a completed event: a successful follow ends on its own. */
async function finishedJob(tenant: Tenant): Promise<Job> {
  const job = await h.createJob(tenant);
  await h.append(job, { type: 'queued' });
  await h.complete(job);
  return job;
}

describe('authentication', () => {
  let job: Job;
  beforeAll(async () => {
    job = await finishedJob(tenantA);
  });

  it('accepts an events token in ?token=', async () => {
    const got = await collectEvents(first.eventsUrl(job.id, { token: h.tokenFor(job) }));
    expect(got.closeCode).toBeUndefined();
    expect(got.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'completed'],
    ]);
    expect(got.events.every((e) => e.jobId === job.id && e.tenantId === tenantA.id)).toBe(true);
  });

  it('accepts an API key in the Authorization header', async () => {
    const got = await collectEvents(first.eventsUrl(job.id), { headers: bearer(tenantA) });
    expect(got.closeCode).toBeUndefined();
    expect(got.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => { url: string; headers?: Record<string, string> }, number]>([
    ['no credentials', () => ({ url: first.eventsUrl(job.id) }), CloseCode.Unauthorized],
    [
      'a token signed with another secret',
      () => ({
        url: first.eventsUrl(job.id, {
          token: signEventsToken(
            { sub: tenantA.id, jobId: job.id, exp: now() + 60 },
            'not-the-secret',
          ),
        }),
      }),
      CloseCode.Unauthorized,
    ],
    [
      'a garbled token',
      () => ({ url: first.eventsUrl(job.id, { token: 'abc.def' }) }),
      CloseCode.Unauthorized,
    ],
    [
      'an expired token',
      () => ({ url: first.eventsUrl(job.id, { token: h.tokenFor(job, -1) }) }),
      CloseCode.Unauthorized,
    ],
    [
      'an unknown API key',
      () => ({
        url: first.eventsUrl(job.id),
        headers: { authorization: 'Bearer tk_not_a_real_key' },
      }),
      CloseCode.Unauthorized,
    ],
    [
      'a malformed Authorization header',
      () => ({ url: first.eventsUrl(job.id), headers: { authorization: tenantA.apiKey } }),
      CloseCode.Unauthorized,
    ],
    [
      "another tenant's API key",
      () => ({ url: first.eventsUrl(job.id), headers: bearer(tenantB) }),
      CloseCode.NotFound,
    ],
    [
      'an API key and an unknown job',
      () => ({ url: first.eventsUrl(randomUUID()), headers: bearer(tenantA) }),
      CloseCode.NotFound,
    ],
    [
      'a malformed jobId',
      () => ({ url: first.eventsUrl('not-a-uuid'), headers: bearer(tenantA) }),
      CloseCode.BadRequest,
    ],
    [
      'a negative after',
      () => ({ url: first.eventsUrl(job.id, { after: -1 }), headers: bearer(tenantA) }),
      CloseCode.BadRequest,
    ],
  ])('closes with the right code for %s', async (_name, request, code) => {
    const { url, headers } = request();
    const got = await collectEvents(url, { headers });
    expect(got.closeCode).toBe(code);
    expect(got.events).toEqual([]);
  });

  it('closes with 4404 for a token issued for another job of the same tenant', async () => {
    const other = await h.createJob(tenantA);
    const got = await collectEvents(first.eventsUrl(job.id, { token: h.tokenFor(other) }));
    expect(got.closeCode).toBe(CloseCode.NotFound);
    expect(got.events).toEqual([]);
  });

  it('closes with 4404 for a valid token whose job does not exist', async () => {
    const ghost = { id: randomUUID(), tenantId: tenantA.id };
    const got = await collectEvents(first.eventsUrl(ghost.id, { token: h.tokenFor(ghost) }));
    expect(got.closeCode).toBe(CloseCode.NotFound);
  });

  it('refuses the upgrade with HTTP 404 on any other path', async () => {
    const url = first.eventsUrl(job.id).replace('/v1/events', '/v1/other');
    const socket = new WebSocket(url, { headers: bearer(tenantA) });
    const [error] = (await once(socket, 'error')) as [Error];
    expect(error.message).toMatch(/Unexpected server response: 404/);
  });
});

describe('live events and replay', () => {
  it('a client joining mid-job gets 1..N exactly once, in order, ending with completed', async () => {
    const job = await h.createJob(tenantA);
    let follower: ReturnType<Harness['follow']> | undefined;
    for (let i = 1; i <= 50; i++) {
      await h.progress(job, i * 2);
      if (i === 20)
        follower = h.follow(first.eventsUrl(job.id, { after: 0, token: h.tokenFor(job) }));
      await sleep(3);
    }
    await h.complete(job);
    const got = await follower!.finished;
    expect(got.closeCode).toBeUndefined();
    expect(got.seqs).toEqual(range(1, 51));
    expect(got.events.at(-1)?.type).toBe('completed');
    expect(got.events.slice(0, 50).map((e) => e.type === 'progress' && e.progress)).toEqual(
      range(1, 50).map((i) => i * 2),
    );
  });

  it('a client that reconnects with after=k gets k+1..N exactly once', async () => {
    const job = await h.createJob(tenantA);
    for (let i = 1; i <= 10; i++) await h.progress(job, i);
    const firstVisit = h.follow(first.eventsUrl(job.id), {
      headers: bearer(tenantA),
      stopAfter: 13,
    });
    const producing = (async () => {
      for (let i = 11; i <= 30; i++) {
        await h.progress(job, i);
        await sleep(5);
      }
      await h.complete(job);
    })();
    const before = await firstVisit.finished;
    const k = before.seqs.length;
    expect(k).toBe(13);
    expect(before.seqs).toEqual(range(1, k));

    const after = await h.follow(first.eventsUrl(job.id, { after: k }), {
      headers: bearer(tenantA),
    }).finished;
    await producing;
    expect(after.seqs).toEqual(range(k + 1, 31));
    expect(after.events.at(-1)?.type).toBe('completed');
  });

  it('two notifier instances both deliver every live event to their own clients', async () => {
    await waitFor(() => first.notifier.hub.size === 0 && second.notifier.hub.size === 0, {
      what: 'idle hubs',
    });
    const job = await h.createJob(tenantA);
    const token = h.tokenFor(job);
    const one = h.follow(first.eventsUrl(job.id, { token }));
    const two = h.follow(second.eventsUrl(job.id, { token }));
    // Both admitted before the first event exists: everything they get arrives live.
    await waitFor(() => first.notifier.hub.size === 1 && second.notifier.hub.size === 1, {
      what: 'admission',
    });
    await h.append(job, { type: 'queued' }, { type: 'processing', attempt: 1 });
    for (let i = 1; i <= 20; i++) {
      await h.progress(job, i * 5);
      await sleep(2);
    }
    await h.complete(job);
    const [a, b] = await Promise.all([one.finished, two.finished]);
    expect(a.seqs).toEqual(range(1, 23));
    expect(b.seqs).toEqual(range(1, 23));
    expect(a.events).toEqual(b.events);
    expect(a.events.slice(0, 2).map((e) => e.type)).toEqual(['queued', 'processing']);
  });

  it('a client following a job of another tenant sees none of this tenant’s events', async () => {
    const theirs = await h.createJob(tenantB);
    const ours = await h.createJob(tenantA);
    const follower = h.follow(first.eventsUrl(theirs.id), { headers: bearer(tenantB) });
    await follower.opened;
    await waitFor(() => first.notifier.hub.size >= 1, { what: 'admission' });
    await h.progress(ours, 10);
    await h.complete(ours);
    await h.complete(theirs);
    const got = await follower.finished;
    expect(got.events.map((e) => [e.jobId, e.seq, e.type])).toEqual([[theirs.id, 1, 'completed']]);
  });
});

describe('slow clients', () => {
  it('cuts a client that does not read with 4408 while another keeps receiving', async () => {
    const notifier = await h.startNotifier({ maxBufferedBytes: 1 });
    const job = await h.createJob(tenantA);
    const token = h.tokenFor(job);
    const fast = h.follow(notifier.eventsUrl(job.id, { token }));

    const slow = h.socket(notifier.eventsUrl(job.id, { token }));
    const slowSeqs: number[] = [];
    slow.on('message', (data) =>
      slowSeqs.push((JSON.parse(String(data)) as { event: { seq: number } }).event.seq),
    );
    const slowClosed = once(slow, 'close') as Promise<[number, Buffer]>;
    await once(slow, 'open');
    slow.pause(); // stop reading: the kernel buffers fill up, then the server's send buffer
    await waitFor(() => notifier.notifier.hub.size === 2, { what: 'admission' });

    // Big events fill the socket buffers quickly; keep producing until the server lets go.
    const stage = 'x'.repeat(32 * 1024);
    let produced = 0;
    while (notifier.notifier.hub.size === 2 && produced < 1500) {
      await h.append(
        job,
        ...Array.from({ length: 10 }, () => ({ type: 'progress' as const, progress: 50, stage })),
      );
      produced += 10;
      await sleep(10);
    }
    // The server dropped the slow client (its view), and only that one.
    expect(notifier.notifier.hub.size).toBe(1);
    await h.complete(job);

    const got = await fast.finished;
    expect(got.closeCode).toBeUndefined();
    expect(got.seqs).toEqual(range(1, produced + 1));

    slow.resume(); // the close frame is queued behind what the server had buffered
    const [code, reason] = await slowClosed;
    expect(code).toBe(CloseCode.TooSlow);
    expect(String(reason)).toMatch(/after=/);
    expect(slowSeqs.length).toBeGreaterThan(0);
    expect(slowSeqs.length).toBeLessThan(produced + 1);
    expect(slowSeqs).toEqual(range(1, slowSeqs.length));
    await notifier.stop();
  }, 30_000);
});

describe('connection lifecycle', () => {
  it('hub.close() closes every client with 1001', async () => {
    const notifier = await h.startNotifier();
    const job = await h.createJob(tenantA);
    await h.progress(job, 1);
    const a = h.follow(notifier.eventsUrl(job.id, { token: h.tokenFor(job) }));
    const b = h.follow(notifier.eventsUrl(job.id), { headers: bearer(tenantA) });
    // Both admitted and replayed, so what they see next comes from the shutdown.
    await waitFor(() => a.events.length === 1 && b.events.length === 1, { what: 'replay' });
    notifier.notifier.hub.close();
    const [ra, rb] = await Promise.all([a.finished, b.finished]);
    expect([ra.closeCode, rb.closeCode]).toEqual([1001, 1001]);
    expect(ra.seqs).toEqual([1]);
    expect(rb.seqs).toEqual([1]);
    await waitFor(() => notifier.notifier.hub.size === 0, { what: 'clients removed' });
    await notifier.stop();
  });

  it('hub.close() also closes with 1001 a client whose admission was still running', async () => {
    const notifier = await h.startNotifier();
    const job = await h.createJob(tenantA);
    await h.progress(job, 1);
    const late = h.follow(notifier.eventsUrl(job.id, { token: h.tokenFor(job) }));
    // The socket opens on upgrade; admission (a database read) is still under way.
    await late.opened;
    notifier.notifier.hub.close();
    const got = await late.finished;
    expect(got.closeCode).toBe(1001);
    expect(got.seqs).toEqual([]);
    expect(notifier.notifier.hub.size).toBe(0);
    await notifier.stop();
  });

  it('terminates a client that does not answer pings within a few heartbeats', async () => {
    const notifier = await h.startNotifier({ heartbeatMs: 100 });
    const job = await h.createJob(tenantA);
    const url = notifier.eventsUrl(job.id, { token: h.tokenFor(job) });
    const deaf = h.socket(url, { autoPong: false });
    const polite = h.socket(url);
    let pings = 0;
    deaf.on('ping', () => pings++);
    const deafClosed = once(deaf, 'close') as Promise<[number, Buffer]>;
    await Promise.all([once(deaf, 'open'), once(polite, 'open')]);
    await waitFor(() => notifier.notifier.hub.size === 2, { what: 'admission' });

    const [code] = await deafClosed;
    expect(code).toBe(1006); // terminated: no close frame
    // Counted in heartbeats, not milliseconds: a loaded machine slows both alike.
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(3);

    // A client that answers pings stays, well past the point the deaf one was cut.
    await sleep(400);
    expect(polite.readyState).toBe(WebSocket.OPEN);
    expect(notifier.notifier.hub.size).toBe(1);
    polite.close();
    await notifier.stop();
  });
});

describe('HTTP endpoints', () => {
  it('/healthz and /readyz answer 200 when Postgres and the broker are up', async () => {
    const health = await fetch(`${first.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${first.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { postgres: 'ok', rabbitmq: 'ok' },
    });
  });

  it('/readyz answers 503 when the broker is not connected', async () => {
    const notifier = await h.startNotifier({}, { broker: false, isBrokerConnected: () => false });
    const ready = await fetch(`${notifier.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not_ready',
      checks: { postgres: 'ok', rabbitmq: 'disconnected' },
    });
    expect((await fetch(`${notifier.httpUrl}/healthz`)).status).toBe(200);
    await notifier.stop();
  });

  it('/metrics reports open connections and events sent', async () => {
    await waitFor(() => first.notifier.hub.size === 0, { what: 'idle hub' });
    const job = await h.createJob(tenantA);
    await h.progress(job, 1);
    const follower = h.follow(first.eventsUrl(job.id, { token: h.tokenFor(job) }));
    await waitFor(() => first.notifier.hub.size === 1, { what: 'admission' });

    const open = await (await fetch(`${first.httpUrl}/metrics`)).text();
    expect(open).toMatch(/^notifier_connections\{[^}]*\} 1$/m);
    expect(open).toMatch(/^notifier_events_sent_total\{[^}]*\} [1-9]\d*$/m);

    await h.complete(job);
    await follower.finished;
    await waitFor(() => first.notifier.hub.size === 0, { what: 'disconnect' });
    const closed = await (await fetch(`${first.httpUrl}/metrics`)).text();
    expect(closed).toMatch(/^notifier_connections\{[^}]*\} 0$/m);
  });

  it('answers 404 JSON on unknown paths', async () => {
    const res = await fetch(`${first.httpUrl}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'not found' } });
  });
});
