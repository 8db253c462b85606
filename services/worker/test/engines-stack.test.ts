// Engines end to end: the built gateway, worker and notifier as processes, real
// Postgres, RabbitMQ and S3; the worker configured with the local OpenAI-compatible server
// and the test whisper.cpp model. A job's `engine` and `model` travel from the API to
// the worker and back into the transcript.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorBody, Job, TranscriptJson } from '@transcribe/contracts';
import {
  createTestEnv,
  whisperTestModel,
  librivoxClips,
  rawSphinxTranscript,
  startOpenAICompatibleServer,
  startStack,
  wordErrorRate,
  type OpenAICompatibleServer,
  type Stack,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';

// Recognition runs at a fraction of real time when the 2-core machine is busy.
jest.setTimeout(300_000);

const KEY = `engines-key-${randomBytes(8).toString('hex')}`;
const OPENAI_KEY = 'sk-engines-stack';
const clip = librivoxClips().find((c) => c.wav.endsWith('0870.wav')) ?? librivoxClips()[0]!;
let env: TestEnv;
let server: OpenAICompatibleServer;
let stack: Stack;

beforeAll(async () => {
  [env, server] = await Promise.all([
    createTestEnv(),
    startOpenAICompatibleServer({ apiKey: OPENAI_KEY }),
  ]);
  stack = await startStack({
    env: {
      ...env.env,
      DEV_API_KEY: KEY,
      ENGINES: 'sphinx,openai,whisper-cpp',
      WORKER_CONCURRENCY: '2',
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: OPENAI_KEY,
      WHISPER_MODEL_PATH: whisperTestModel(),
      WHISPER_THREADS: '1',
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await server?.close();
  await env?.close();
});

async function submit(file: string, options: Record<string, string>): Promise<string> {
  const form = new FormData();
  for (const [k, v] of Object.entries(options)) form.set(k, v);
  form.set('file', new Blob([await readFile(file)], { type: 'audio/wav' }), basename(file));
  const res = await fetch(`${stack.gatewayUrl}/v1/jobs/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
    body: form,
  });
  expect(res.status).toBe(202);
  return Job.pick({ id: true }).parse(await res.json()).id;
}

async function finished(id: string): Promise<Job> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const res = await fetch(`${stack.gatewayUrl}/v1/jobs/${id}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const job = Job.parse(await res.json());
    if (['completed', 'failed', 'canceled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function transcript(id: string): Promise<TranscriptJson> {
  const res = await fetch(`${stack.gatewayUrl}/v1/jobs/${id}/transcript?format=json`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(res.status).toBe(200);
  return TranscriptJson.parse(await res.json());
}

it('completes jobs on openai (with the job model) and whisper-cpp, side by side', async () => {
  const [openaiId, whisperId, direct] = await Promise.all([
    submit(clip.wav, { engine: 'openai', model: 'whisper-1' }),
    submit(clip.wav, { engine: 'whisper-cpp' }),
    rawSphinxTranscript(clip.wav),
  ]);
  const [openaiJob, whisperJob] = await Promise.all([finished(openaiId), finished(whisperId)]);

  expect(openaiJob).toMatchObject({ status: 'completed', engine: 'openai', model: 'whisper-1' });
  const viaOpenAI = await transcript(openaiId);
  expect(viaOpenAI.segments.length).toBeGreaterThan(0);
  expect(wordErrorRate(clip.reference, viaOpenAI.text)).toBeLessThanOrEqual(
    wordErrorRate(clip.reference, direct) + 0.05,
  );
  expect(server.requests.filter((r) => r.status === 200)).toHaveLength(1);

  expect(whisperJob).toMatchObject({
    status: 'completed',
    engine: 'whisper-cpp',
    model: 'for-tests-ggml-tiny.en.bin',
  });
  expect(typeof (await transcript(whisperId)).text).toBe('string');
});

it('fails a job whose model the OpenAI-compatible server does not have with engine_rejected', async () => {
  const job = await finished(await submit(clip.wav, { engine: 'openai', model: 'no-such-model' }));
  expect(job).toMatchObject({ status: 'failed', error: { code: 'engine_rejected' } });
  expect(job.attempts).toBe(1);
});

it('auto: sphinx records its own language, openai the one it heard; whisper-cpp (.en) refuses fr at creation', async () => {
  const [sphinxId, openaiId] = await Promise.all([
    submit(clip.wav, { language: 'auto' }),
    submit(clip.wav, { engine: 'openai', model: 'whisper-1', language: 'auto' }),
  ]);
  const [sphinxJob, openaiJob] = await Promise.all([finished(sphinxId), finished(openaiId)]);
  expect(sphinxJob).toMatchObject({
    status: 'completed',
    language: 'en',
    requestedLanguage: 'auto',
    languageSource: 'engine-default',
  });
  // The local server answers as OpenAI does (`"language": "english"`), stored as `en`.
  expect(openaiJob).toMatchObject({
    status: 'completed',
    language: 'en',
    requestedLanguage: 'auto',
    languageSource: 'detected',
  });
  expect(await transcript(openaiId)).toMatchObject({
    language: 'en',
    requestedLanguage: 'auto',
    languageSource: 'detected',
  });

  const form = new FormData();
  form.set('engine', 'whisper-cpp');
  form.set('language', 'fr');
  form.set('file', new Blob([await readFile(clip.wav)], { type: 'audio/wav' }), 'clip.wav');
  const refused = await fetch(`${stack.gatewayUrl}/v1/jobs/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
    body: form,
  });
  expect(refused.status).toBe(400);
  expect(ErrorBody.parse(await refused.json()).error).toMatchObject({
    code: 'language_unsupported',
    message: expect.stringContaining('whisper-cpp') as string,
  });
});
