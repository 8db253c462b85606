// A local server that speaks OpenAI's `/v1/audio/transcriptions` wire format, for tests
// of the `openai` engine without a paid API. It recognises speech for real (ffmpeg decodes
// the upload, Debian's pocketsphinx transcribes it), so tests can measure WER through
// the whole HTTP path; faults (rate limits, 5xx, bad keys, size limits) are scriptable.
//
// Word timings (`verbose_json` with `timestamp_granularities[]=word`) are pocketsphinx's
// own. Speakers (`diarized_json`, for the `diarizeModels`) follow a fixed rule instead of
// listening: the first utterance is the first speaker, and the speaker changes at every
// pause of at least SPEAKER_TURN_PAUSE_S between utterances, alternating between the two
// `speakerLabels` (per request, like OpenAI's labels).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { decodeToSpeechWav } from './raw-sphinx.js';

const run = promisify(execFile);

/** A pause this long between two utterances hands the turn to the other speaker. */
export const SPEAKER_TURN_PAUSE_S = 0.8;

/** OpenAI's limit: 25 MB per file (its edge answers 413 above it). */
export const OPENAI_SERVER_MAX_BYTES = 26_214_400;

/** A scripted answer for one upcoming request, instead of a transcription. */
export type OpenAIFault =
  | { status: 429; retryAfterS?: number; retryAfterMs?: number }
  | { status: 500 | 502 | 503 }
  /** Holds the request this long before answering normally (for abort tests). */
  | { delayMs: number };

export interface OpenAIServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  maxFileBytes?: number;
  /** Models that answer `verbose_json` with segments. */
  verboseModels?: string[];
  /** Models that refuse `verbose_json` (400), like OpenAI's gpt-4o transcription models. */
  jsonOnlyModels?: string[];
  /**
   * Models that answer `diarized_json` (and `json`, `text`) and refuse `verbose_json`,
   * like OpenAI's gpt-4o-transcribe-diarize.
   */
  diarizeModels?: string[];
  /** The two speakers' labels in `diarized_json`; OpenAI's own are `A` and `B`. */
  speakerLabels?: readonly [string, string];
}

export interface RecordedRequest {
  at: number;
  status: number;
  model?: string;
  language?: string;
  responseFormat?: string;
  timestampGranularities: string[];
  fileName?: string;
  fileBytes?: number;
  authorization?: string;
}

export interface OpenAICompatibleServer {
  /** Base URL to give the SDK, ending in `/v1`. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Queues faults answered to the next requests, in order. */
  fail(...faults: OpenAIFault[]): void;
  close(): Promise<void>;
}

interface Recognised {
  text: string;
  durationS: number;
  segments: { start: number; end: number; text: string }[];
  words: { word: string; start: number; end: number; probability: number }[];
}

export async function startOpenAICompatibleServer(
  opts: OpenAIServerOptions = {},
): Promise<OpenAICompatibleServer> {
  const maxFileBytes = opts.maxFileBytes ?? OPENAI_SERVER_MAX_BYTES;
  const verbose = new Set(opts.verboseModels ?? ['whisper-1']);
  const jsonOnly = new Set(opts.jsonOnlyModels ?? ['gpt-4o-transcribe', 'gpt-4o-mini-transcribe']);
  const diarize = new Set(opts.diarizeModels ?? ['gpt-4o-transcribe-diarize']);
  const speakerLabels = opts.speakerLabels ?? ['A', 'B'];
  const faults: OpenAIFault[] = [];
  const requests: RecordedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse, record: RecordedRequest) => {
    record.authorization = req.headers.authorization;
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/audio/transcriptions') {
      req.resume();
      return sendError(res, 404, `Invalid URL (${req.method} ${req.url})`, 'invalid_request_error');
    }
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      req.resume();
      return sendError(
        res,
        401,
        'Incorrect API key provided.',
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    }
    // The multipart overhead is small; OpenAI's edge checks the body's length too.
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > maxFileBytes) {
      req.resume();
      return sendError(
        res,
        413,
        `Maximum content size limit (${maxFileBytes}) exceeded (${length} bytes read)`,
        'server_error',
      );
    }
    const form = await new Request('http://local', {
      method: 'POST',
      headers: req.headers as Record<string, string>,
      body: Readable.toWeb(req) as ReadableStream,
      duplex: 'half',
    } as RequestInit).formData();

    const file = form.get('file');
    const field = (name: string) => {
      const v = form.get(name);
      return typeof v === 'string' ? v : undefined;
    };
    record.model = field('model');
    record.language = field('language');
    record.responseFormat = field('response_format') ?? 'json';
    record.timestampGranularities = form
      .getAll('timestamp_granularities[]')
      .filter((v): v is string => typeof v === 'string');
    if (!(file instanceof Blob)) {
      return sendError(
        res,
        400,
        "you must provide a 'file' field",
        'invalid_request_error',
        'file',
      );
    }
    record.fileName = (file as File).name;
    record.fileBytes = file.size;
    if (file.size > maxFileBytes) {
      return sendError(
        res,
        413,
        `Maximum content size limit (${maxFileBytes}) exceeded`,
        'server_error',
      );
    }

    const fault = faults.shift();
    if (fault && 'status' in fault) return sendFault(res, fault);
    if (fault && 'delayMs' in fault) {
      // Ends early when the client goes away, so a closed server leaves no timer behind.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fault.delayMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (req.destroyed || res.destroyed) return;
    }

    const model = record.model;
    if (!model)
      return sendError(
        res,
        400,
        'you must provide a model parameter',
        'invalid_request_error',
        'model',
      );
    if (!verbose.has(model) && !jsonOnly.has(model) && !diarize.has(model)) {
      return sendError(
        res,
        404,
        `The model \`${model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        null,
        'model_not_found',
      );
    }
    const format = record.responseFormat;
    if (!['json', 'text', 'verbose_json', 'diarized_json'].includes(format)) {
      return sendError(
        res,
        400,
        `Invalid value: '${format}'. Supported values are: 'json', 'text', 'verbose_json' and 'diarized_json'.`,
        'invalid_request_error',
        'response_format',
        'invalid_value',
      );
    }
    if (format === 'diarized_json' && !diarize.has(model)) {
      return sendError(
        res,
        400,
        `response_format 'diarized_json' is not compatible with model '${model}'.`,
        'invalid_request_error',
        'response_format',
        'unsupported_value',
      );
    }
    if (format === 'verbose_json' && (jsonOnly.has(model) || diarize.has(model))) {
      return sendError(
        res,
        400,
        `response_format 'verbose_json' is not compatible with model '${model}'. Use 'json' or 'text' instead.`,
        'invalid_request_error',
        'response_format',
        'unsupported_value',
      );
    }
    if (record.language !== undefined && !/^[a-z]{2,3}$/.test(record.language)) {
      return sendError(
        res,
        400,
        `Invalid language '${record.language}'. Language parameter must be specified in ISO-639-1 format.`,
        'invalid_request_error',
        'language',
        'invalid_language_format',
      );
    }

    let recognised: Recognised;
    try {
      recognised = await recognise(file, record.fileName ?? 'audio');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/Invalid data|could not find codec|does not contain any stream/i.test(message)) {
        return sendError(
          res,
          400,
          'The audio file could not be decoded or its format is not supported.',
          'invalid_request_error',
          'file',
        );
      }
      return sendError(
        res,
        500,
        'The server had an error while processing your request.',
        'server_error',
      );
    }
    const usage = { type: 'duration', seconds: Math.ceil(recognised.durationS) };
    if (format === 'text') {
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end(`${recognised.text}\n`);
    }
    if (format === 'json') return sendJson(res, record, { text: recognised.text, usage });
    if (format === 'diarized_json') {
      return sendJson(res, record, {
        task: 'transcribe',
        duration: recognised.durationS,
        text: recognised.text,
        segments: withSpeakers(recognised.segments, speakerLabels).map((s, i) => ({
          type: 'transcript.text.segment',
          id: `seg_${i}`,
          ...s,
        })),
        usage,
      });
    }
    return sendJson(res, record, {
      task: 'transcribe',
      language: 'english',
      duration: recognised.durationS,
      text: recognised.text,
      // Whisper puts a leading space on every segment's text.
      segments: recognised.segments.map((s, id) => ({
        id,
        seek: 0,
        start: s.start,
        end: s.end,
        text: ` ${s.text}`,
        tokens: [],
        temperature: 0,
        avg_logprob: -0.3,
        compression_ratio: 1.2,
        no_speech_prob: 0.01,
      })),
      ...(record.timestampGranularities.includes('word') ? { words: recognised.words } : {}),
      usage,
    });
  };

  function sendJson(res: ServerResponse, record: RecordedRequest, body: unknown) {
    record.status = 200;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    const record: RecordedRequest = { at: Date.now(), status: 0, timestampGranularities: [] };
    requests.push(record);
    const originalWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      record.status = status;
      return (originalWriteHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    }) as typeof res.writeHead;
    handle(req, res, record).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `test server: ${String(error)}`, 'server_error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    fail: (...f) => faults.push(...f),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendFault(res: ServerResponse, fault: Extract<OpenAIFault, { status: number }>) {
  if (fault.status === 429) {
    const headers: Record<string, string> = {};
    if (fault.retryAfterS !== undefined) headers['retry-after'] = String(fault.retryAfterS);
    if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
    return sendError(
      res,
      429,
      'Rate limit reached for requests. Please try again later.',
      'requests',
      null,
      'rate_limit_exceeded',
      headers,
    );
  }
  return sendError(
    res,
    fault.status,
    'The server had an error while processing your request. Sorry about that!',
    'server_error',
  );
}

/** OpenAI's error envelope: `{error: {message, type, param, code}}`. */
function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { message, type, param, code } }));
}

async function recognise(file: Blob, name: string): Promise<Recognised> {
  const dir = await mkdtemp(join(tmpdir(), 'openai-server-'));
  try {
    const input = join(dir, `upload${extname(name) || '.bin'}`);
    await writeFile(input, Buffer.from(await file.arrayBuffer()));
    const wav = join(dir, 'audio.wav');
    await decodeToSpeechWav(input, wav);
    const { stdout: probed } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      wav,
    ]);
    const { stdout } = await run(
      'pocketsphinx_continuous',
      ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    return { ...parseTimedOutput(stdout), durationS: Number(probed.trim()) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rule in the header: the turn passes at every long pause. */
function withSpeakers(
  segments: Recognised['segments'],
  labels: readonly [string, string],
): (Recognised['segments'][number] & { speaker: string })[] {
  let turn = 0;
  return segments.map((s, i) => {
    const previous = segments[i - 1];
    if (previous && s.start - previous.end >= SPEAKER_TURN_PAUSE_S) turn = 1 - turn;
    return { ...s, speaker: labels[turn] ?? 'A' };
  });
}

/**
 * `pocketsphinx_continuous -time yes` prints, per utterance, the hypothesis line and then
 * `word start end confidence` lines (fillers such as `<s>`, `<sil>`, `[NOISE]` included).
 */
function parseTimedOutput(stdout: string): Omit<Recognised, 'durationS'> {
  const segments: Recognised['segments'] = [];
  const words: Recognised['words'] = [];
  let current: Recognised['words'] = [];
  const flush = () => {
    const first = current[0];
    const last = current.at(-1);
    if (first && last) {
      segments.push({
        start: first.start,
        end: last.end,
        text: current.map((w) => w.word).join(' '),
      });
    }
    current = [];
  };
  for (const line of stdout.split('\n')) {
    const match = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\S+)$/.exec(line.trim());
    if (!match) {
      flush();
      continue;
    }
    const [, token = '', start, end, posterior] = match;
    if (/^<.*>$|^\[.*\]$|^\+\+.*\+\+$/.test(token)) continue;
    const word = {
      word: token.replace(/\(\d+\)$/, ''),
      start: Number(start),
      end: Number(end),
      // faster-whisper servers (speaches) send a probability per word; so does this one.
      probability: Math.min(1, Number(posterior)),
    };
    current.push(word);
    words.push(word);
  }
  flush();
  return { text: segments.map((s) => s.text).join(' '), segments, words };
}
