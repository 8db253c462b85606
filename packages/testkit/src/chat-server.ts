// A local server that speaks OpenAI's `/v1/chat/completions` wire format, for tests of
// enrichments without a real model. It behaves like an obedient model: it recognises the
// task from the system message (the worker's prompts name it on their first line,
// `Task: <name>.`; keywords are the fallback) and transforms the data in the user message
// deterministically, so tests can assert on exact results. Faults (rate limits, 5xx,
// refusals, hangs) and a per-answer delay are scriptable; every request is recorded,
// including the ones a client aborted.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scripted answer for one upcoming chat request, instead of a completion. */
export type ChatFault =
  | { status: 429; retryAfterS: number }
  | { status: 500 | 502 | 503 }
  | { status: 400 | 401 | 404; message?: string }
  /** Never answers; only the client's abort ends it (recorded as aborted). */
  | { hang: true };

export interface ChatRequestRecord {
  /** Arrival, ms since the epoch. */
  at: number;
  /** What the server recognised: clean, translate, summary, notes, summary-reduce, notes-reduce, unknown. */
  task: string;
  model: string;
  messages: { role: string; content: string }[];
  /** HTTP status answered; 0 while in flight or when the client went away first. */
  status: number;
  aborted: boolean;
  durationMs: number;
}

export interface ChatServer {
  /** Base URL to give the SDK, ending in `/v1`. */
  url: string;
  /** Every chat request, in arrival order (pushed on arrival, settled when answered). */
  requests: ChatRequestRecord[];
  /** Answered to the next chat requests, in order, each once. */
  queueFaults(...faults: ChatFault[]): void;
  /** Every answer waits this long first; a client abort ends the wait and is recorded. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const TASKS = ['clean', 'translate', 'summary', 'notes', 'summary-reduce', 'notes-reduce'] as const;

/** What the task is, from the instructions only (never from the data). */
export function recogniseTask(system: string): string {
  const named = /^Task: ([a-z-]+)\./m.exec(system)?.[1];
  if (named && (TASKS as readonly string[]).includes(named)) return named;
  const s = system.toLowerCase();
  const reduce = /\b(?:combine|merge)/.test(s);
  if (/\btranslat/.test(s)) return 'translate';
  if (/\bclean/.test(s)) return 'clean';
  if (/\bnotes\b/.test(s)) return reduce ? 'notes-reduce' : 'notes';
  if (/\bsummar/.test(s)) return reduce ? 'summary-reduce' : 'summary';
  return 'unknown';
}

/** ≈ 4 characters a token, like the worker's estimate. */
const tokensOf = (text: string) => Math.ceil(text.length / 4);

const LINE = /^\[(\d+)\]\s?(.*)$/;
function dataLines(user: string): { id: string; text: string }[] {
  const lines: { id: string; text: string }[] = [];
  for (const line of user.split('\n')) {
    const match = LINE.exec(line.trim());
    if (match) lines.push({ id: match[1]!, text: match[2]! });
  }
  return lines;
}

const FILLERS = /\b(?:um+|uh+|erm+|er|ah+|hmm+)\b[,.]?\s*/gi;

function cleanLine(text: string): string {
  let out = text.replace(FILLERS, '').replace(/\s+/g, ' ').trim();
  out = out.replace(/(^|[.!?]\s+)([a-z])/g, (_, pre: string, c: string) => pre + c.toUpperCase());
  if (out && !/[.!?…]$/.test(out)) out += '.';
  return out;
}

const GERMAN: Record<string, string> = {
  the: 'die',
  and: 'und',
  is: 'ist',
  we: 'wir',
  i: 'ich',
  you: 'du',
  today: 'heute',
  hello: 'hallo',
  world: 'Welt',
  good: 'gut',
  morning: 'Morgen',
  thank: 'danke',
  lecture: 'Vorlesung',
  yes: 'ja',
  no: 'nein',
  this: 'dies',
  with: 'mit',
};

function translateLine(text: string, target: string): string {
  const base = target.split('-')[0]!;
  const words = text.split(' ').map((word) => {
    if (base !== 'de') return word;
    const bare = word.toLowerCase().replace(/[^a-z]/g, '');
    const german = GERMAN[bare];
    return german ? word.toLowerCase().replace(bare, german) : word;
  });
  return `[${target}] ${words.join(' ')}`.trimEnd();
}

const firstWords = (text: string, n: number) =>
  text.split(/\s+/).filter(Boolean).slice(0, n).join(' ');

function bulletsOf(lines: { text: string }[], max: number): string[] {
  const useful = lines.map((l) => l.text.trim()).filter(Boolean);
  const step = Math.max(1, Math.ceil(useful.length / max));
  return useful.filter((_, i) => i % step === 0).map((text) => `- ${firstWords(text, 8)}`);
}

/** The parts of a reduce request: `=== part N ===` headers, then each part's markdown. */
function partsOf(user: string): string[] {
  return user
    .split(/^=== part \d+ ===$/m)
    .map((part) => part.trim())
    .filter(Boolean);
}

function answer(task: string, system: string, user: string): string {
  switch (task) {
    case 'clean':
      return dataLines(user)
        .map((line, i) => `[${line.id}] ${i % 4 === 0 ? '¶ ' : ''}${cleanLine(line.text)}`)
        .join('\n');
    case 'translate': {
      const target = /language "([A-Za-z0-9-]+)"/.exec(system)?.[1] ?? 'xx';
      return dataLines(user)
        .map((line) => `[${line.id}] ${translateLine(line.text, target)}`)
        .join('\n');
    }
    case 'summary':
      return bulletsOf(dataLines(user), 5).join('\n');
    case 'notes': {
      const lines = dataLines(user);
      const first = lines[0]?.id ?? '?';
      const last = lines.at(-1)?.id ?? '?';
      return [`## Lines ${first}–${last}`, '', ...bulletsOf(lines, 4)].join('\n');
    }
    case 'summary-reduce': {
      const bullets = partsOf(user).flatMap((part) =>
        part.split('\n').filter((line) => line.startsWith('- ')),
      );
      return ['# Summary', '', ...[...new Set(bullets)].slice(0, 12)].join('\n');
    }
    case 'notes-reduce': {
      const sections = partsOf(user).map((part) =>
        part
          .split('\n')
          .filter((line) => !/^# /.test(line))
          .join('\n')
          .trim(),
      );
      return ['# Notes', '', sections.join('\n\n')].join('\n');
    }
    default:
      return 'I could not tell what you asked me to do.';
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

export async function startChatServer(
  options: { delayMs?: number; port?: number; model?: string } = {},
): Promise<ChatServer> {
  const requests: ChatRequestRecord[] = [];
  const faults: ChatFault[] = [];
  let delayMs = options.delayMs ?? 0;
  const serverModel = options.model;
  let completions = 0;

  async function chat(req: IncomingMessage, res: ServerResponse) {
    const started = Date.now();
    // Listened for from the start: a client that gives up while its body is still being
    // read (a worker's lease lost under load) would otherwise close the response before
    // the record below exists, and the record would look in flight for ever.
    let gaveUp = false;
    res.on('close', () => {
      if (!res.writableFinished) gaveUp = true;
    });
    let parsed: {
      model?: unknown;
      messages?: unknown;
      max_tokens?: unknown;
      max_completion_tokens?: unknown;
    };
    try {
      parsed = JSON.parse(await readBody(req)) as typeof parsed;
    } catch {
      sendJson(
        res,
        400,
        errorBody(
          'We could not parse the JSON body of your request.',
          'invalid_request_error',
          null,
        ),
      );
      return;
    }
    const messages = Array.isArray(parsed.messages)
      ? (parsed.messages as { role?: unknown; content?: unknown }[]).map((m) => ({
          role: String(m.role),
          content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
        }))
      : [];
    const model = typeof parsed.model === 'string' ? parsed.model : '';
    const system = messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => m.content)
      .join('\n');
    const user = messages
      .filter((m) => m.role === 'user')
      .map((m) => m.content)
      .join('\n');
    const record: ChatRequestRecord = {
      at: started,
      task: recogniseTask(system),
      model,
      messages,
      status: 0,
      aborted: false,
      durationMs: 0,
    };
    requests.push(record);
    const gone = new AbortController();
    const abandoned = () => {
      record.aborted = true;
      record.durationMs = Date.now() - started;
      gone.abort();
    };
    if (gaveUp) abandoned();
    else
      res.on('close', () => {
        if (!res.writableFinished) abandoned();
      });
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      if (gone.signal.aborted) return;
      record.status = status;
      record.durationMs = Date.now() - started;
      sendJson(res, status, body, headers);
    };

    const fault = faults.shift();
    if (fault && 'hang' in fault) return; // until the client aborts
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        gone.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (gone.signal.aborted) return;
    }
    if (fault) {
      switch (fault.status) {
        case 429:
          return reply(
            429,
            errorBody('Rate limit reached for requests.', 'requests', 'rate_limit_exceeded'),
            { 'retry-after': String(fault.retryAfterS) },
          );
        case 400:
          return reply(
            400,
            errorBody(fault.message ?? 'Invalid request.', 'invalid_request_error', null),
          );
        case 401:
          return reply(
            401,
            errorBody(
              fault.message ?? 'Incorrect API key provided.',
              'invalid_request_error',
              'invalid_api_key',
            ),
          );
        case 404:
          return reply(
            404,
            errorBody(
              fault.message ?? `The model \`${model}\` does not exist.`,
              'invalid_request_error',
              'model_not_found',
            ),
          );
        default:
          return reply(
            fault.status,
            errorBody(
              'The server had an error while processing your request.',
              'server_error',
              null,
            ),
          );
      }
    }
    if (!model || messages.length === 0) {
      return reply(
        400,
        errorBody('model and messages are required.', 'invalid_request_error', null),
      );
    }
    const maxTokensRaw = parsed.max_completion_tokens ?? parsed.max_tokens;
    const maxTokens =
      typeof maxTokensRaw === 'number' && maxTokensRaw > 0 ? maxTokensRaw : Infinity;
    let content = answer(record.task, system, user);
    let finishReason: 'stop' | 'length' = 'stop';
    if (tokensOf(content) > maxTokens) {
      content = content.slice(0, maxTokens * 4);
      finishReason = 'length';
    }
    const promptTokens = tokensOf(messages.map((m) => m.content).join('\n'));
    const completionTokens = tokensOf(content);
    completions++;
    reply(200, {
      id: `chatcmpl-test-${completions}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: serverModel ?? model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      chat(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, errorBody(String(error), 'server_error', null));
      });
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [
          { id: serverModel ?? 'test-chat', object: 'model', created: 0, owned_by: 'testkit' },
        ],
      });
      return;
    }
    sendJson(
      res,
      404,
      errorBody(
        `Unknown request URL: ${req.method} ${path}`,
        'invalid_request_error',
        'unknown_url',
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    queueFaults: (...next) => faults.push(...next),
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
