// A job for the `openai` engine through the whole worker pipeline: a real MP3 in the
// (embedded or container) S3, ffprobe and ffmpeg, then the local OpenAI-compatible
// server, which recognises the audio for real. Engine and model come from the job.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestEnv,
  audioFixture,
  JFK_REFERENCE,
  librivoxClips,
  rawSphinxTranscript,
  startOpenAICompatibleServer,
  wordErrorRate,
  type OpenAICompatibleServer,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { createOpenAIEngine } from '../src/engines/openai.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createSphinxEngine } from '../src/engines/sphinx.js';
import { runPipeline, type PipelineDeps } from '../src/pipeline.js';

// Recognition runs at a fraction of real time when the 2-core machine is busy.
jest.setTimeout(300_000);

const jfkMp3 = audioFixture('jfk.mp3');
let env: TestEnv;
let server: OpenAICompatibleServer;
let scratch: string;
let deps: PipelineDeps;

beforeAll(async () => {
  [env, server] = await Promise.all([
    createTestEnv(),
    // Labels unlike the ones the job's transcript uses, to see them renamed.
    startOpenAICompatibleServer({
      apiKey: 'sk-pipeline',
      speakerLabels: ['SPEAKER_01', 'SPEAKER_00'],
    }),
  ]);
  scratch = await mkdtemp(join(tmpdir(), 'openai-pipeline-test-'));
  deps = {
    storage: env.storage,
    engines: createEngineSelector([
      createSphinxEngine(),
      createOpenAIEngine({
        baseURL: server.baseURL,
        apiKey: 'sk-pipeline',
        model: 'whisper-1',
        maxRetries: 2,
        tmpDir: scratch,
      }),
    ]),
    tmpDir: scratch,
    maxDurationS: 3600,
  };
  await env.storage.upload('t/jfk.mp3', await readFile(jfkMp3), 'audio/mpeg');
  // 3 s of LibriVox, for the test that is about the model rather than the words.
  const short = librivoxClips().find((c) => c.wav.endsWith('0880.wav')) ?? librivoxClips()[0]!;
  await env.storage.upload('t/short.wav', await readFile(short.wav), 'audio/wav');
});
afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
  await env?.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

it('runs a job with engine openai end to end, as accurate as pocketsphinx on the file', async () => {
  const [result, direct] = await Promise.all([
    runPipeline(
      { objectKey: 't/jfk.mp3', engine: 'openai', language: 'en', model: null },
      deps,
      () => undefined,
    ),
    rawSphinxTranscript(jfkMp3),
  ]);
  const viaPipeline = wordErrorRate(JFK_REFERENCE, result.text);
  const baseline = wordErrorRate(JFK_REFERENCE, direct);
  console.log(
    `WER jfk.mp3: pipeline + openai engine ${viaPipeline.toFixed(3)}, pocketsphinx directly ${baseline.toFixed(3)}`,
  );
  expect(viaPipeline).toBeLessThanOrEqual(baseline + 0.05);
  expect(result.model).toBe('whisper-1');
  expect(result.durationS).toBeCloseTo(11, 0);
  expect(result.segments.length).toBeGreaterThan(0);
  expect(server.requests).toEqual([
    expect.objectContaining({
      status: 200,
      model: 'whisper-1',
      responseFormat: 'verbose_json',
      fileName: 'audio.wav',
    }),
  ]);
  expect(await readdir(scratch)).toEqual([]);
});

it("uses the job's model", async () => {
  const result = await runPipeline(
    { objectKey: 't/short.wav', engine: 'openai', language: 'en', model: 'gpt-4o-mini-transcribe' },
    deps,
    () => undefined,
  );
  expect(result.model).toBe('gpt-4o-mini-transcribe');
  expect(server.requests.map((r) => [r.model, r.responseFormat])).toEqual([
    ['gpt-4o-mini-transcribe', 'json'],
  ]);
  expect(await readdir(scratch)).toEqual([]);
});

describe('a job in chunks, one request each', () => {
  const chunked = (model: string) =>
    runPipeline(
      { objectKey: 't/jfk.mp3', engine: 'openai', language: 'en', model },
      { ...deps, chunkS: 4, chunkWindowS: 2 },
      () => undefined,
    );

  it("puts every chunk's words on the recording's time line, in order", async () => {
    const result = await chunked('whisper-1');
    expect(result.chunks).toBeGreaterThanOrEqual(2);
    expect(server.requests).toHaveLength(result.chunks);
    expect(result.words.map((w) => w.word).join(' ')).toBe(result.text);
    let last = 0;
    for (const w of result.words) {
      expect(w.start).toBeGreaterThanOrEqual(last);
      last = w.end;
    }
    // The last chunk's words were offset: they lie past the first chunk's end.
    expect(last).toBeGreaterThan(6);
    expect(last).toBeLessThanOrEqual(result.durationS);
  });

  it('renames the speakers A, B… in order of first appearance across the chunks', async () => {
    const result = await chunked('gpt-4o-transcribe-diarize');
    expect(result.chunks).toBeGreaterThanOrEqual(2);
    expect(server.requests.map((r) => r.responseFormat)).toEqual(
      Array(result.chunks).fill('diarized_json'),
    );
    const speakers = result.segments.map((s) => s.speaker);
    // The server called each chunk's first voice SPEAKER_01: every chunk opens with A.
    expect(speakers[0]).toBe('A');
    expect(new Set(speakers)).toEqual(new Set(['A', 'B']));
    expect(result.words).toEqual([]);
  });
});

it('fails a job for an engine this worker does not run with engine_unavailable, before any work', async () => {
  await expect(
    runPipeline(
      { objectKey: 't/jfk.mp3', engine: 'whisper-cpp', language: 'en', model: null },
      deps,
      () => undefined,
    ),
  ).rejects.toMatchObject({ name: 'PermanentJobError', code: 'engine_unavailable' });
  expect(server.requests).toEqual([]);
  expect(await readdir(scratch)).toEqual([]);
});
