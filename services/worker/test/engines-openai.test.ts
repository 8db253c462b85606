// The `openai` engine against a local server that speaks OpenAI's transcription wire
// format and recognises the uploaded audio for real (ffmpeg + pocketsphinx): formats,
// retries honouring Retry-After, permanent refusals and cancellation.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fixturesDir,
  librivoxClips,
  SPEAKER_TURN_PAUSE_S,
  rawSphinxTranscript,
  startOpenAICompatibleServer,
  wordErrorRate,
  type OpenAICompatibleServer,
} from '../../../packages/testkit/src/index.js';
import { createOpenAIEngine, type RetryInfo } from '../src/engines/openai.js';
import { readWavInfo } from '../src/engines/wav.js';
import { librivoxWav } from './support/librivox-wav.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';

// Recognition runs at a fraction of real time when the 2-core machine is busy.
jest.setTimeout(300_000);

const KEY = 'sk-test-local-key';
const clips = librivoxClips();
/** "he was not an ill disposed young man": 3 s, cheap for tests about the protocol. */
const shortClip = clips.find((c) => c.wav.endsWith('0880.wav')) ?? clips[0]!;

let server: OpenAICompatibleServer;
let scratch: string;
let tmp: string;
let longWav: string;
let longDurationS: number;
let longReference: string;

beforeAll(async () => {
  server = await startOpenAICompatibleServer({
    apiKey: KEY,
    jsonOnlyModels: ['gpt-4o-transcribe', 'local-json-only'],
  });
  scratch = await mkdtemp(join(tmpdir(), 'openai-engine-test-'));
  tmp = await mkdtemp(join(tmpdir(), 'openai-engine-tmp-'));
  ({ wav: longWav, reference: longReference } = await librivoxWav(scratch));
  longDurationS = (await readWavInfo(longWav)).durationS;
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  server.requests.length = 0;
});
afterEach(async () => {
  // Whatever happened, the engine left no temp files behind.
  expect(await readdir(tmp)).toEqual([]);
});

function engine(overrides: Partial<Parameters<typeof createOpenAIEngine>[0]> = {}) {
  return createOpenAIEngine({
    baseURL: server.baseURL,
    apiKey: KEY,
    model: 'whisper-1',
    maxRetries: 3,
    tmpDir: tmp,
    ...overrides,
  });
}

it('transcribes through verbose_json with segments, adding no errors to the recogniser', async () => {
  const progress: number[] = [];
  const [result, direct] = await Promise.all([
    engine().transcribe(longWav, { language: 'en-US' }, (s) => progress.push(s)),
    rawSphinxTranscript(longWav),
  ]);
  const viaOpenAI = wordErrorRate(longReference, result.text);
  const baseline = wordErrorRate(longReference, direct);
  console.log(
    `WER librivox: via openai engine ${viaOpenAI.toFixed(3)}, pocketsphinx directly ${baseline.toFixed(3)}`,
  );
  expect(viaOpenAI).toBeLessThanOrEqual(baseline + 0.05);
  expect(viaOpenAI).toBeLessThan(0.8);
  expect(result.model).toBe('whisper-1');

  // Real timings: several segments, in order, inside the audio, text matching the whole.
  expect(result.segments.length).toBeGreaterThan(1);
  for (const [i, s] of result.segments.entries()) {
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBeLessThanOrEqual(longDurationS);
    expect(s.text).toBe(s.text.trim());
    if (i > 0) expect(s.start).toBeGreaterThanOrEqual(result.segments[i - 1]!.start);
  }
  expect(result.segments.map((s) => s.text).join(' ')).toBe(result.text);
  expect(progress.at(-1)).toBeCloseTo(longDurationS, 1);

  // Word timings asked for and kept, with the server's per-word probability.
  const words = result.words ?? [];
  expect(words.map((w) => w.word).join(' ')).toBe(result.text);
  for (const [i, w] of words.entries()) {
    expect(w.end).toBeGreaterThanOrEqual(w.start);
    expect(w.end).toBeLessThanOrEqual(longDurationS);
    if (i > 0) expect(w.start).toBeGreaterThanOrEqual(words[i - 1]!.end);
    expect(w.confidence).toBeGreaterThanOrEqual(0);
    expect(w.confidence).toBeLessThanOrEqual(1);
  }
  expect(result.segments.every((s) => s.speaker === undefined)).toBe(true);

  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]).toMatchObject({
    status: 200,
    model: 'whisper-1',
    language: 'en',
    responseFormat: 'verbose_json',
    timestampGranularities: ['segment', 'word'],
    fileName: 'audio.wav',
    authorization: `Bearer ${KEY}`,
  });
});

it('asks gpt-4o-transcribe for json and gives one segment spanning the audio', async () => {
  const result = await engine().transcribe(
    shortClip.wav,
    { language: 'auto', model: 'gpt-4o-transcribe' },
    () => undefined,
  );
  expect(wordErrorRate(shortClip.reference, result.text)).toBeLessThan(0.8);
  expect(result.model).toBe('gpt-4o-transcribe');
  expect(result.segments).toEqual([{ start: 0, end: expect.closeTo(2.99, 1), text: result.text }]);
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]).toMatchObject({ responseFormat: 'json', model: 'gpt-4o-transcribe' });
  expect(server.requests[0]?.language).toBeUndefined();
  // json answers name no language: nothing detected, the job says `und`.
  expect(result.language).toBeUndefined();
});

it('asks a diarize model for diarized_json and keeps its speakers per segment', async () => {
  const jfk = join(fixturesDir(), 'audio', 'jfk.wav');
  const result = await engine().transcribe(
    jfk,
    { language: 'en', model: 'gpt-4o-transcribe-diarize' },
    () => undefined,
  );
  expect(
    server.requests.map((r) => [r.status, r.responseFormat, r.timestampGranularities]),
  ).toEqual([[200, 'diarized_json', []]]);
  expect(result.model).toBe('gpt-4o-transcribe-diarize');
  expect(result.segments.length).toBeGreaterThan(1);
  // The server's rule (a turn at every pause of 0.8 s or more) on jfk.wav's pauses.
  const speakers = result.segments.map((s) => s.speaker);
  expect(speakers[0]).toBe('A');
  expect(new Set(speakers)).toEqual(new Set(['A', 'B']));
  for (const [i, s] of result.segments.entries()) {
    const previous = result.segments[i - 1];
    if (!previous) continue;
    const turn = s.start - previous.end >= SPEAKER_TURN_PAUSE_S;
    expect(s.speaker === previous.speaker).toBe(!turn);
  }
  // diarized_json has no word timings.
  expect(result.words).toEqual([]);
});

it('for auto, reports the language a verbose_json answer names (OpenAI says "english")', async () => {
  const auto = await engine().transcribe(shortClip.wav, { language: 'auto' }, () => undefined);
  expect(auto.language).toBe('en');
  expect(server.requests.at(-1)?.language).toBeUndefined();
  // Asked for a language, the engine reports none of its own.
  const asked = await engine().transcribe(shortClip.wav, { language: 'en' }, () => undefined);
  expect(asked.language).toBeUndefined();
});

it('falls back to json, once per model, when a model refuses verbose_json', async () => {
  const e = engine({ model: 'local-json-only' });
  const first = await e.transcribe(shortClip.wav, { language: 'en' }, () => undefined);
  expect(first.segments).toHaveLength(1);
  expect(server.requests.map((r) => [r.status, r.responseFormat])).toEqual([
    [400, 'verbose_json'],
    [200, 'json'],
  ]);
  await e.transcribe(shortClip.wav, { language: 'en' }, () => undefined);
  expect(server.requests.map((r) => r.responseFormat)).toEqual(['verbose_json', 'json', 'json']);
});

it('waits out a 429 for as long as Retry-After says, then succeeds', async () => {
  server.fail({ status: 429, retryAfterS: 2 });
  const retries: RetryInfo[] = [];
  const result = await engine({ onRetry: (r) => retries.push(r) }).transcribe(
    shortClip.wav,
    { language: 'en' },
    () => undefined,
  );
  expect(wordErrorRate(shortClip.reference, result.text)).toBeLessThan(0.8);
  expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
  const [limited, retried] = server.requests;
  expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1950);
  expect(retries).toEqual([expect.objectContaining({ attempt: 1, delayMs: 2000, status: 429 })]);
});

it('retries 503 and 500 with backoff', async () => {
  server.fail({ status: 503 }, { status: 500 });
  const result = await engine().transcribe(shortClip.wav, { language: 'en' }, () => undefined);
  expect(result.text.length).toBeGreaterThan(0);
  expect(server.requests.map((r) => r.status)).toEqual([503, 500, 200]);
});

it('gives up after maxRetries with a transient (retryable) error', async () => {
  server.fail({ status: 503 }, { status: 503 }, { status: 503 });
  const failure = engine({ maxRetries: 2 }).transcribe(
    shortClip.wav,
    { language: 'en' },
    () => undefined,
  );
  await expect(failure).rejects.toThrow(/still failing after 3 attempts/);
  await expect(failure).rejects.not.toMatchObject({ name: 'PermanentJobError' });
  expect(server.requests.map((r) => r.status)).toEqual([503, 503, 503]);
});

it('does not wait inside the job for a Retry-After longer than allowed', async () => {
  server.fail({ status: 429, retryAfterS: 3600 });
  await expect(
    engine({ maxRetryDelayMs: 30_000 }).transcribe(
      shortClip.wav,
      { language: 'en' },
      () => undefined,
    ),
  ).rejects.toThrow(/asked to wait 3600 s/);
  // It gave up on the first answer instead of waiting to ask again.
  expect(server.requests).toHaveLength(1);
});

it('turns a bad key (401) into a permanent engine_rejected failure without retrying', async () => {
  await expect(
    engine({ apiKey: 'sk-wrong' }).transcribe(shortClip.wav, { language: 'en' }, () => undefined),
  ).rejects.toMatchObject({
    name: 'PermanentJobError',
    code: 'engine_rejected',
    message: expect.stringMatching(/401.*Incorrect API key/),
  });
  expect(server.requests.map((r) => r.status)).toEqual([401]);
});

it('turns an unknown model (404) into engine_rejected', async () => {
  await expect(
    engine().transcribe(shortClip.wav, { language: 'en', model: 'no-such-model' }, () => undefined),
  ).rejects.toMatchObject({
    code: 'engine_rejected',
    message: expect.stringMatching(/model_not_found/),
  });
});

it('cancels a request in flight when the signal fires', async () => {
  server.fail({ delayMs: 20_000 });
  const controller = new AbortController();
  const pending = engine().transcribe(
    shortClip.wav,
    { language: 'en', signal: controller.signal },
    () => undefined,
  );
  // Held by the server: the whole request read (its fields parsed), no answer yet. The
  // file streams from disk, so the request is recorded before its body has arrived.
  await waitFor(() => server.requests[0]?.model !== undefined);
  controller.abort();
  await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  // The abort ended it: the server had not answered yet.
  expect(server.requests[0]!.status).toBe(0);
});

it('cancels during a Retry-After wait', async () => {
  // An hour's wait, allowed: only the abort can end it within this test's bound.
  server.fail({ status: 429, retryAfterS: 3600 });
  const controller = new AbortController();
  const pending = engine({ maxRetryDelayMs: 3_600_000 }).transcribe(
    shortClip.wav,
    { language: 'en', signal: controller.signal },
    () => undefined,
  );
  await waitFor(() => server.requests[0]?.status === 429);
  controller.abort();
  await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  expect(server.requests).toHaveLength(1);
});
