// OpenAI's own SDK against our gateway: `baseURL` pointed at the stack (built services as
// processes, real Postgres, RabbitMQ, S3, ffmpeg and pocketsphinx), nothing else changed.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type APIError, AuthenticationError, BadRequestError, toFile } from 'openai';
import { Job } from '@transcribe/contracts';
import {
  audioFixture,
  createTestEnv,
  JFK_REFERENCE,
  rawSphinxTranscript,
  startStack,
  wordErrorRate,
  type Stack,
  type TestEnv,
} from '../src/index.js';

// Recognition runs at a fraction of real time when the shared machine is busy.
jest.setTimeout(300_000);

const KEY = `openai-compat-${Date.now().toString(36)}-key`;
const jfkWav = audioFixture('jfk.wav');
const jfkMp3 = audioFixture('jfk.mp3');
let env: TestEnv;
let stack: Stack;
let client: OpenAI;
let scratch: string;

beforeAll(async () => {
  env = await createTestEnv();
  scratch = await mkdtemp(join(tmpdir(), 'openai-compat-'));
  stack = await startStack({
    env: {
      ...env.env,
      DEV_API_KEY: KEY,
      OPENAI_MODEL_ALIASES: 'gpt-4o-transcribe=sphinx,gpt-4o-mini-transcribe=openai:gpt-4o-mini',
    },
  });
  client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: KEY, maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await env?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const jfk = () => createReadStream(jfkWav);

describe('POST /v1/audio/transcriptions through the openai SDK', () => {
  test('json (the default): the text, its usage, and the job id in a header', async () => {
    const { data, response } = await client.audio.transcriptions
      .create({ file: jfk(), model: 'whisper-1' })
      .withResponse();
    expect(wordErrorRate(JFK_REFERENCE, data.text)).toBeLessThan(0.75);
    expect(data.usage).toEqual({ type: 'duration', seconds: 11 });
    const jobId = response.headers.get('x-transcribe-job-id');
    expect(jobId).toBeTruthy();
    const job = Job.parse(
      await (
        await fetch(`${stack.gatewayUrl}/v1/jobs/${jobId}`, {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).json(),
    );
    expect(job).toMatchObject({ status: 'completed', priority: 'high', engine: 'sphinx' });
  });

  test('text, srt and vtt come back as strings; mp3 works too', async () => {
    const [text, srt, vtt] = await Promise.all([
      client.audio.transcriptions.create({
        file: createReadStream(jfkMp3),
        model: 'sphinx',
        response_format: 'text',
      }),
      client.audio.transcriptions.create({
        file: jfk(),
        model: 'whisper-1',
        response_format: 'srt',
      }),
      client.audio.transcriptions.create({
        file: jfk(),
        model: 'whisper-1',
        response_format: 'vtt',
      }),
    ]);
    expect(typeof text).toBe('string');
    // PocketSphinx is weak: as good as running it directly on the same file, no better.
    const baseline = wordErrorRate(JFK_REFERENCE, await rawSphinxTranscript(jfkMp3));
    expect(wordErrorRate(JFK_REFERENCE, text)).toBeLessThanOrEqual(baseline + 0.05);
    expect(srt).toMatch(/^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n/);
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:\d\d\.\d{3} --> /);
  });

  test('verbose_json: language by name, duration, segments, words only when asked', async () => {
    const plain = await client.audio.transcriptions.create({
      file: jfk(),
      model: 'gpt-4o-transcribe',
      response_format: 'verbose_json',
      language: 'en',
    });
    expect(plain).toMatchObject({ task: 'transcribe', language: 'english' });
    expect(plain.duration).toBeGreaterThan(10);
    expect(plain.duration).toBeLessThan(12);
    expect(plain.segments?.length).toBeGreaterThan(0);
    expect(plain.segments![0]).toEqual(
      expect.objectContaining({ id: 0, seek: 0, tokens: [], text: expect.any(String) }),
    );
    expect(plain.words).toBeUndefined();
    const worded = await client.audio.transcriptions.create({
      file: jfk(),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    // pocketsphinx's word timings, through the SDK: in order, each inside a segment, and
    // together they spell the segments' text.
    const words = worded.words ?? [];
    const segments = worded.segments ?? [];
    expect(words.length).toBeGreaterThan(5);
    words.forEach((w, i) => {
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.start).toBeGreaterThanOrEqual(words[i - 1]?.end ?? 0);
      expect(segments.some((s) => s.start <= w.start && w.end <= s.end)).toBe(true);
    });
    expect(words.map((w) => w.word).join(' ')).toBe(
      segments
        .map((s) => s.text.trim())
        .join(' ')
        .replace(/\s+/g, ' '),
    );
  });

  test('diarized_json: transcript.text.segment objects with a speaker', async () => {
    const body = (await client.audio.transcriptions.create({
      file: jfk(),
      model: 'whisper-1',
      response_format: 'diarized_json',
    })) as unknown as {
      task: string;
      text: string;
      segments: { type: string; id: string; speaker: string; start: number; end: number }[];
    };
    expect(body.task).toBe('transcribe');
    expect(body.segments.length).toBeGreaterThan(0);
    for (const s of body.segments) {
      expect(s).toMatchObject({ type: 'transcript.text.segment', speaker: 'A' });
      expect(s.end).toBeGreaterThanOrEqual(s.start);
    }
  });

  test('stream: deltas, then transcript.text.done with the whole text', async () => {
    const stream = await client.audio.transcriptions.create({
      file: jfk(),
      model: 'whisper-1',
      stream: true,
      timestamp_granularities: ['segment'],
    });
    const events: { type: string; delta?: string; text?: string }[] = [];
    for await (const event of stream) events.push(event as (typeof events)[number]);
    const types = events.map((e) => e.type);
    expect(types.at(-1)).toBe('transcript.text.done');
    expect(types).toContain('transcript.text.delta');
    expect(types).toContain('transcript.text.segment');
    const done = events.at(-1)!;
    const deltas = events
      .filter((e) => e.type === 'transcript.text.delta')
      .map((e) => e.delta)
      .join('');
    expect(deltas).toBe(done.text);
    expect(wordErrorRate(JFK_REFERENCE, done.text!)).toBeLessThan(0.75);
  });

  test('a file over OpenAI’s 25 MB ceiling is transcribed', async () => {
    // jfk, padded with silence to 140 s at 48 kHz stereo: ≈ 27 MB of WAV.
    const big = join(scratch, 'jfk-padded.wav');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-i',
      jfkWav,
      '-af',
      'apad=whole_dur=140',
      '-ar',
      '48000',
      '-ac',
      '2',
      big,
    ]);
    expect((await stat(big)).size).toBeGreaterThan(25 * 1024 * 1024);
    const result = await client.audio.transcriptions.create({
      file: await toFile(await readFile(big), 'jfk-padded.wav', { type: 'audio/wav' }),
      model: 'whisper-1',
      response_format: 'verbose_json',
    });
    expect(result.duration).toBeGreaterThan(139);
    const baseline = wordErrorRate(JFK_REFERENCE, await rawSphinxTranscript(big));
    expect(wordErrorRate(JFK_REFERENCE, result.text)).toBeLessThanOrEqual(baseline + 0.1);
  });
});

/**
 * Upload and job rows of this test's world: a refusal must add none. (The streamed object
 * is removed by discardFormFile, whose S3 side services/gateway/test/language.test.ts
 * checks; the embedded S3 refuses bucket listings' signatures, so it is not listed here.)
 */
async function leftovers() {
  const rows = async (table: 'uploads' | 'jobs') =>
    Number(
      (
        await env.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { uploads: await rows('uploads'), jobs: await rows('jobs') };
}

describe('refusals in OpenAI’s error shape', () => {
  test('an unknown model: 400, param model, and nothing left behind', async () => {
    const before = await leftovers();
    const error = await client.audio.transcriptions
      .create({ file: jfk(), model: 'whisper-9' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as APIError).param).toBe('model');
    expect((error as APIError).type).toBe('invalid_request_error');
    // The file streamed to S3 before the model was read; the refusal keeps no upload or job.
    expect(await leftovers()).toEqual(before);
  });

  test('an alias whose engine is not enabled is unknown too', async () => {
    const error = await client.audio.transcriptions
      .create({ file: jfk(), model: 'gpt-4o-mini-transcribe' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BadRequestError);
  });

  test('a wrong key: 401', async () => {
    const wrong = new OpenAI({
      baseURL: `${stack.gatewayUrl}/v1`,
      apiKey: 'sk-wrong-key-123456',
      maxRetries: 0,
    });
    const error = await wrong.audio.transcriptions.create({ file: jfk(), model: 'whisper-1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as APIError).code).toBe('invalid_api_key');
  });

  test('a missing file: 400, param file', async () => {
    const form = new FormData();
    form.set('model', 'whisper-1');
    const res = await fetch(`${stack.gatewayUrl}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: 'file',
        code: 'validation_failed',
      },
    });
  });

  test('translations: refused, no engine here translates', async () => {
    const error = await client.audio.translations.create({ file: jfk(), model: 'whisper-1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadRequestError);
  });
});

test('GET /v1/models lists the enabled engines and the aliases that resolve to them', async () => {
  const ids: string[] = [];
  for await (const model of client.models.list()) ids.push(model.id);
  expect(ids.sort()).toEqual(['gpt-4o-transcribe', 'sphinx', 'whisper-1']);
});
