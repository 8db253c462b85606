import {
  ClientError,
  DiscontinuityError,
  createClient,
  type DiscontinuityFrame,
  type JobEvent,
  type TranscribeClient,
} from '@transcribe/client';
import { CloseCode } from '@transcribe/contracts';
import {
  API_KEY,
  EVENTS_TOKEN,
  startFakeApi,
  type FakeApi,
  type SocketContext,
} from './support/fake-api.js';

let fake: FakeApi;
let client: TranscribeClient;

beforeAll(async () => {
  fake = await startFakeApi();
  client = createClient({ baseUrl: fake.baseUrl, apiKey: API_KEY });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.onSocket = undefined;
  fake.connections.length = 0;
});

/** A job as POST /v1/jobs returns it: its events link carries the token. */
function createdJob(): { id: string; events: JobEvent[]; links: { events: string } } {
  const { job, events } = fake.addJob();
  return { id: job.id, events, links: { events: `${job.links.events}&token=${EVENTS_TOKEN}` } };
}

async function follow(
  target: Parameters<TranscribeClient['followEvents']>[0],
  opts: Partial<Parameters<TranscribeClient['followEvents']>[1]> = {},
): Promise<{ terminal: JobEvent; seen: number[] }> {
  const seen: number[] = [];
  const terminal = await client.followEvents(target, {
    initialDelayMs: 5,
    maxDelayMs: 20,
    ...opts,
    onEvent: (e) => seen.push(e.seq),
  });
  return { terminal, seen };
}

describe('followEvents', () => {
  it('delivers every event in order and resolves with the terminal one', async () => {
    const job = createdJob();
    const { terminal, seen } = await follow(job);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(terminal).toMatchObject({ type: 'completed', seq: 5, jobId: job.id });
    // The token authenticates; the API key is not sent alongside it.
    expect(fake.connections).toHaveLength(1);
    expect(fake.connections[0]?.url.searchParams.get('token')).toBe(EVENTS_TOKEN);
    expect(fake.connections[0]?.headers.authorization).toBeUndefined();
  });

  it('drops duplicate and stale seqs', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => {
      const [e1, e2, e3, e4, e5] = job.events;
      for (const e of [e1, e2, e2, e1, e3, e3, e2, e4, e5]) if (e) ctx.send(e);
    };
    const { seen } = await follow(job);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('starts after the given seq', async () => {
    const job = createdJob();
    const { seen } = await follow(job, { after: 3 });
    expect(seen).toEqual([4, 5]);
    expect(fake.connections[0]?.url.searchParams.get('after')).toBe('3');
  });

  it.each([
    ['a dropped TCP connection', (ctx: SocketContext) => ctx.ws.terminate()],
    ['1001 going away', (ctx: SocketContext) => ctx.ws.close(1001, 'restarting')],
    ['1011 server error', (ctx: SocketContext) => ctx.ws.close(1011, 'oops')],
    ['4408 too slow', (ctx: SocketContext) => ctx.ws.close(CloseCode.TooSlow, 'too slow')],
  ])('resumes with after=<last seq> after %s mid-stream', async (_name, drop) => {
    const job = createdJob();
    fake.onSocket = (ctx) => {
      if (fake.connections.length === 1) {
        // First connection: two events, then the connection goes away.
        for (const e of job.events.slice(0, 2)) ctx.send(e);
        setTimeout(() => drop(ctx), 20);
        return;
      }
      // Replay honestly from `after`, plus one duplicate to make sure it is dropped.
      for (const e of job.events) if (e.seq >= ctx.after) ctx.send(e);
    };
    const { seen, terminal } = await follow(job);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(terminal.type).toBe('completed');
    expect(fake.connections.map((c) => c.url.searchParams.get('after'))).toEqual(['0', '2']);
    expect(fake.connections[1]?.url.searchParams.get('jobId')).toBe(job.id);
  });

  it('rejects with ClientError not_found on 4404, without retrying', async () => {
    const error = await follow({
      eventsUrl: `${fake.wsBaseUrl}/v1/events?jobId=0190a000-0000-7000-8000-00000000dead`,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'not_found' });
    expect(fake.connections).toHaveLength(1);
  });

  it('rejects with bad_request on 4400', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => ctx.ws.close(CloseCode.BadRequest, 'bad query');
    await expect(follow(job)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('rejects with unauthorized on 4401 when there is nothing else to try', async () => {
    const job = fake.addJob().job;
    const anonymous = createClient({ baseUrl: fake.baseUrl, apiKey: '' });
    await expect(
      anonymous.followEvents(
        { eventsUrl: `${job.links.events}&token=expired` },
        { onEvent: () => {} },
      ),
    ).rejects.toMatchObject({ name: 'ClientError', code: 'unauthorized' });
  });

  it('falls back to the API key when the token is refused', async () => {
    const job = fake.addJob().job;
    const { terminal } = await follow({ eventsUrl: `${job.links.events}&token=expired` });
    expect(terminal.type).toBe('completed');
    expect(fake.connections).toHaveLength(2);
    expect(fake.connections[1]?.url.searchParams.has('token')).toBe(false);
    expect(fake.connections[1]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('gives up with reconnect_failed when every connection drops', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => ctx.ws.terminate();
    await expect(follow(job, { maxRetries: 3 })).rejects.toMatchObject({
      code: 'reconnect_failed',
    });
    expect(fake.connections).toHaveLength(4);
  });

  it('does not reconnect when reconnect is false', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => ctx.ws.close(1011, 'oops');
    await expect(follow(job, { reconnect: false })).rejects.toMatchObject({
      code: 'network_error',
    });
    expect(fake.connections).toHaveLength(1);
  });

  it('rejects a frame that breaks the contract with invalid_response', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => ctx.ws.send(JSON.stringify({ kind: 'event', event: { seq: 1 } }));
    await expect(follow(job)).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('surfaces a discontinuity frame typed (callback + DiscontinuityError), without retrying', async () => {
    const job = createdJob();
    const sent: DiscontinuityFrame = {
      kind: 'discontinuity',
      reason: 'job_deleted',
      jobId: job.id,
      after: 2,
      message: `job ${job.id} no longer exists`,
    };
    fake.onSocket = (ctx) => {
      ctx.ws.send(JSON.stringify(sent));
      ctx.ws.close(CloseCode.NotFound, 'job not found (deleted)');
    };
    const seen: DiscontinuityFrame[] = [];
    const error = await follow(job, { after: 2, onDiscontinuity: (f) => seen.push(f) }).catch(
      (e: unknown) => e,
    );
    expect(seen).toEqual([sent]);
    expect(error).toBeInstanceOf(DiscontinuityError);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'discontinuity', frame: sent });
    expect(fake.connections).toHaveLength(1);
  });

  it('skips frame kinds it does not know', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => {
      ctx.ws.send(JSON.stringify({ kind: 'hello', server: 'v2' }));
      for (const e of job.events) ctx.send(e);
    };
    const { seen } = await follow(job);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops and rejects with the reason when aborted', async () => {
    const job = createdJob();
    fake.onSocket = (ctx) => ctx.send(job.events[0]!);
    const controller = new AbortController();
    const seen: number[] = [];
    const following = client.followEvents(job, {
      signal: controller.signal,
      onEvent: (e) => {
        seen.push(e.seq);
        controller.abort(new Error('stop'));
      },
    });
    await expect(following).rejects.toThrow('stop');
    expect(seen).toEqual([1]);
  });

  it('waitForJob follows a job by id with the API key', async () => {
    const { job } = fake.addJob([
      { type: 'failed', error: { code: 'engine_failed', message: 'boom' } },
    ]);
    const types: string[] = [];
    const terminal = await client.waitForJob(job.id, { onEvent: (e) => types.push(e.type) });
    expect(types).toEqual(['queued', 'failed']);
    expect(terminal).toMatchObject({ type: 'failed', error: { code: 'engine_failed' } });
    expect(fake.connections[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });
});
