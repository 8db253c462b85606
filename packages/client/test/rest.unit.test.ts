import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, ClientError, createClient, type TranscribeClient } from '@transcribe/client';
import { API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';
import { audioFixture } from '../../testkit/src/fixtures.js';

const JFK = audioFixture('jfk.wav');

let fake: FakeApi;
let client: TranscribeClient;

beforeAll(async () => {
  fake = await startFakeApi();
  client = createClient({ baseUrl: fake.baseUrl, apiKey: API_KEY });
});
afterAll(() => fake.close());

/** A server answering every request with the given status, content type and body. */
async function answering(status: number, type: string, body: string): Promise<Server> {
  const server = createServer((_req, res) =>
    res.writeHead(status, { 'content-type': type }).end(body),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const urlOf = (server: Server): string =>
  `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('REST methods', () => {
  it('creates a job from an upload and reads it back, its events and its transcript', async () => {
    const upload = await client.uploadFile(JFK);
    const created = await client.createJob({ uploadId: upload.uploadId, language: 'en' });
    expect(created.eventsToken).toBeTruthy();
    expect(created.links.events).toContain('&token=');

    const job = await client.getJob(created.id);
    expect(job).toMatchObject({ id: created.id, status: 'completed' });

    const events = await client.listEvents(created.id, 2);
    expect(events.map((e) => e.seq)).toEqual([3, 4, 5]);

    expect(await client.getTranscript(created.id, 'txt')).toBe('And so my fellow Americans\n');
    const json = await client.getTranscript(created.id, 'json');
    expect(json).toMatchObject({ jobId: created.id, text: 'And so my fellow Americans' });
    expect(json.segments).toHaveLength(1);
  });

  it('keeps a path prefix of the base URL', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'nope' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const prefixed = createClient({ baseUrl: `${urlOf(server)}/api/`, apiKey: API_KEY });
      await expect(prefixed.getJob('x')).rejects.toBeInstanceOf(ApiError);
      expect(seen).toEqual(['/api/v1/jobs/x']);
    } finally {
      server.close();
    }
  });
});

describe('errors', () => {
  it('turns an error body into an ApiError with status, code and message', async () => {
    const error = await client.getJob('0190a000-0000-7000-8000-00000000dead').catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'not found' });
  });

  it('reports a wrong API key as 401 unauthorized', async () => {
    const wrong = createClient({ baseUrl: fake.baseUrl, apiKey: 'wrong' });
    await expect(wrong.getJob('x')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('reports a transcript of an unfinished job as 409 job_not_completed', async () => {
    const { job } = fake.addJob([{ type: 'processing', attempt: 1 }]);
    await expect(client.getTranscript(job.id, 'txt')).rejects.toMatchObject({
      status: 409,
      code: 'job_not_completed',
    });
  });

  it('keeps details, and falls back to http_error for a body that is not an ErrorBody', async () => {
    const withDetails = await answering(
      422,
      'application/json',
      JSON.stringify({ error: { code: 'validation_failed', message: 'bad', details: [1] } }),
    );
    const proxy = await answering(502, 'text/html', '<html>Bad Gateway</html>');
    try {
      await expect(
        createClient({ baseUrl: urlOf(withDetails), apiKey: API_KEY }).getJob('x'),
      ).rejects.toMatchObject({ status: 422, code: 'validation_failed', details: [1] });
      const error = await createClient({ baseUrl: urlOf(proxy), apiKey: API_KEY })
        .getJob('x')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 502, code: 'http_error' });
      expect((error as ApiError).message).toContain('Bad Gateway');
    } finally {
      withDetails.close();
      proxy.close();
    }
  });

  it('rejects a 2xx body that breaks the contract with ClientError invalid_response', async () => {
    const server = await answering(200, 'application/json', JSON.stringify({ id: 'nope' }));
    try {
      const error = await createClient({ baseUrl: urlOf(server), apiKey: API_KEY })
        .getJob('x')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({ code: 'invalid_response' });
    } finally {
      server.close();
    }
  });

  it('wraps a refused connection in ClientError network_error', async () => {
    const server = await answering(200, 'text/plain', '');
    const url = urlOf(server);
    await new Promise((resolve) => server.close(resolve));
    await expect(createClient({ baseUrl: url, apiKey: API_KEY }).getJob('x')).rejects.toMatchObject(
      { name: 'ClientError', code: 'network_error' },
    );
  });
});

describe('usage and queue (issue 17)', () => {
  it('asks GET /v1/usage with the range given, and GET /v1/queue, and checks the answers', async () => {
    const seen: string[] = [];
    const day = {
      jobsSubmitted: 2,
      jobsCompleted: 1,
      jobsFailed: 0,
      audioSeconds: 11,
      processingSeconds: 3,
    };
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      const body = req.url?.startsWith('/v1/queue')
        ? {
            queued: 1,
            running: 0,
            limits: { maxRunning: 10, maxQueued: null, audioSecondsPerDay: null, weight: 1 },
            audioSecondsToday: 0,
            audioResetsAt: '2026-01-02T00:00:00.000Z',
            next: null,
          }
        : {
            from: '2026-01-01',
            to: '2026-01-01',
            days: [{ day: '2026-01-01', ...day }],
            totals: day,
          };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const api = createClient({ baseUrl: urlOf(server), apiKey: API_KEY });
      expect((await api.getUsage({ from: '2026-01-01', to: '2026-01-01' })).totals).toEqual(day);
      expect((await api.getUsage()).days).toHaveLength(1);
      expect((await api.getQueue()).limits.maxQueued).toBeNull();
      expect(seen).toEqual(['/v1/usage?from=2026-01-01&to=2026-01-01', '/v1/usage', '/v1/queue']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
