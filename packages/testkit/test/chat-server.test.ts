// The deterministic chat server speaks OpenAI's wire format: checked with plain fetch.
/* eslint-disable @typescript-eslint/no-explicit-any -- wire JSON, read field by field */
import { startChatServer, type ChatServer } from '../src/chat-server.js';

let server: ChatServer;
beforeAll(async () => {
  server = await startChatServer({ model: 'test-model-1' });
});
afterAll(() => server.close());

async function chat(system: string, user: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'asked-model',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
      ],
      ...extra,
    }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

it('cleans numbered lines, keeping ids, in the chat.completion shape', async () => {
  const { status, body } = await chat('Task: clean.\nFix it.', '[3] um so hello there\n[4] uh yes');
  expect(status).toBe(200);
  expect(body).toMatchObject({
    object: 'chat.completion',
    model: 'test-model-1',
    choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
  });
  expect(body.choices[0].message.content).toBe('[3] ¶ So hello there.\n[4] Yes.');
  expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  expect(server.requests.at(-1)).toMatchObject({
    task: 'clean',
    model: 'asked-model',
    status: 200,
  });
});

it('translates visibly, and truncates at max_tokens with finish_reason length', async () => {
  const { body } = await chat(
    'Task: translate.\ninto the language "de"',
    '[0] hello world and the lecture',
  );
  expect(body.choices[0].message.content).toBe('[0] [de] hallo Welt und die Vorlesung');
  const cut = await chat(
    'Task: translate.\ninto the language "de"',
    '[0] hello world and the lecture',
    { max_tokens: 2 },
  );
  expect(cut.body.choices[0]).toMatchObject({
    finish_reason: 'length',
    message: { content: '[0] [de]' },
  });
});

it('summarises, makes notes and reduces', async () => {
  expect(
    (await chat('Task: summary.', '[0] first point here\n[1] second')).body.choices[0].message
      .content,
  ).toBe('- first point here\n- second');
  expect((await chat('Task: notes.', '[5] topic one')).body.choices[0].message.content).toBe(
    '## Lines 5–5\n\n- topic one',
  );
  const reduced = await chat(
    'Task: summary-reduce.',
    '=== part 1 ===\n- a\n\n=== part 2 ===\n- b\n- a',
  );
  expect(reduced.body.choices[0].message.content).toBe('# Summary\n\n- a\n- b');
  expect(server.requests.map((r) => r.task)).toEqual(
    expect.arrayContaining(['summary', 'notes', 'summary-reduce']),
  );
});

it('answers queued faults in order, each once, in OpenAI error format', async () => {
  server.queueFaults(
    { status: 429, retryAfterS: 2 },
    { status: 400, message: 'too long' },
    { status: 503 },
  );
  const limited = await chat('Task: clean.', '[0] a');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('2');
  expect(limited.body.error).toMatchObject({ code: 'rate_limit_exceeded', param: null });
  expect((await chat('Task: clean.', '[0] a')).body.error).toMatchObject({
    message: 'too long',
    type: 'invalid_request_error',
  });
  expect((await chat('Task: clean.', '[0] a')).status).toBe(503);
  expect((await chat('Task: clean.', '[0] a')).status).toBe(200);
});

it('records a client abort of a delayed answer', async () => {
  server.setDelay(5000);
  const controller = new AbortController();
  const pending = fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    signal: controller.signal,
  }).catch(() => 'aborted');
  const at = server.requests.length;
  while (server.requests.length === at) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  expect(await pending).toBe('aborted');
  while (!server.requests[at]!.aborted) await new Promise((r) => setTimeout(r, 10));
  expect(server.requests[at]).toMatchObject({ aborted: true, status: 0 });
  server.setDelay(0);
});

it('lists models', async () => {
  const res = await fetch(`${server.url}/models`);
  expect(((await res.json()) as any).data[0].id).toBe('test-model-1');
});
