// The chat engine against the deterministic chat server over HTTP: what it returns, and
// how each failure is classified once the SDK's own retries are spent.
import {
  startChatServer,
  freePort,
  waitFor,
  type ChatServer,
} from '../../../packages/testkit/src/index.js';
import {
  createChatEngine,
  isChatEngineError,
  type ChatEngine,
} from '../src/engines/openai-chat.js';

let server: ChatServer;
let engine: ChatEngine;
beforeAll(async () => {
  server = await startChatServer({ model: 'served-name' });
  engine = createChatEngine({
    baseURL: server.url,
    model: 'asked',
    maxRetries: 1,
    timeoutMs: 10_000,
  });
});
afterAll(() => server.close());

const ask = (signal?: AbortSignal) =>
  engine.complete({ system: 'Task: clean.', user: '[0] um hello', maxTokens: 100, signal });

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isChatEngineError(error))
    throw new Error(`expected a ChatEngineError, got ${String(error)}`);
  return error;
}

it('returns the text, the model as the server named it, the usage', async () => {
  const answer = await ask();
  expect(answer).toMatchObject({ text: '[0] ¶ Hello.', model: 'served-name', truncated: false });
  expect(answer.usage.promptTokens).toBeGreaterThan(0);
  expect(answer.usage.completionTokens).toBeGreaterThan(0);
  expect(server.requests.at(-1)!.messages.map((m) => m.role)).toEqual(['system', 'user']);
});

it('says when an answer hit max_tokens', async () => {
  const answer = await engine.complete({
    system: 'Task: clean.',
    user: '[0] um hello there friend',
    maxTokens: 2,
  });
  expect(answer.truncated).toBe(true);
});

it.each([
  [400, 'engine_rejected', 1],
  [401, 'engine_rejected', 1],
  [404, 'engine_rejected', 1],
  [503, 'engine_unavailable', 2],
] as const)('classifies %i as %s after %i request(s)', async (status, code, requests) => {
  const from = server.requests.length;
  // As many faults as requests are expected: a retry of a refusal would meet a 200.
  server.queueFaults(...Array.from({ length: requests }, () => ({ status })));
  const error = await failure(ask());
  expect(error.code).toBe(code);
  expect(error.status).toBe(status);
  expect(server.requests.length - from).toBe(requests);
});

it('classifies an unreachable server as engine_unavailable', async () => {
  const port = await freePort();
  const offline = createChatEngine({
    baseURL: `http://127.0.0.1:${port}/v1`,
    model: 'm',
    maxRetries: 0,
    timeoutMs: 2000,
  });
  const error = await failure(offline.complete({ system: 's', user: 'u', maxTokens: 10 }));
  expect(error.code).toBe('engine_unavailable');
});

it('aborts on the signal, as an AbortError', async () => {
  server.queueFaults({ hang: true });
  const controller = new AbortController();
  const from = server.requests.length;
  const pending = ask(controller.signal).catch((e: unknown) => e);
  await waitFor(() => server.requests.length > from, { what: 'the request in flight' });
  controller.abort();
  expect(((await pending) as Error).name).toBe('AbortError');
});
