// The `openai` engine and the 25 MB request limit, on real speech: a WAV too big for one
// request is compressed (Opus) and still transcribed; the server's own 413 is permanent.
// The limit is lowered through the engine option so the audio stays short enough for a
// test (a real 25 MB WAV is 13 minutes of speech for pocketsphinx to recognise).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  audioFixture,
  rawSphinxTranscript,
  startOpenAICompatibleServer,
  wordErrorRate,
  type OpenAICompatibleServer,
} from '../../../packages/testkit/src/index.js';
import { createOpenAIEngine } from '../src/engines/openai.js';
import { librivoxWav } from './support/librivox-wav.js';

// Recognition runs at a fraction of real time when the 2-core machine is busy.
jest.setTimeout(300_000);

let server: OpenAICompatibleServer;
let scratch: string;
let tmp: string;

beforeAll(async () => {
  server = await startOpenAICompatibleServer();
  scratch = await mkdtemp(join(tmpdir(), 'openai-size-test-'));
  tmp = await mkdtemp(join(tmpdir(), 'openai-size-tmp-'));
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  expect(await readdir(tmp)).toEqual([]);
});

it('compresses a WAV over the limit and sends it in one request', async () => {
  // Two clips, 13 s: a 420 kB WAV, ~105 kB of 64 kbps Opus.
  const { wav, reference } = await librivoxWav(scratch, ['0870.wav', '0920.wav']);
  const limit = 200_000;
  const engine = createOpenAIEngine({
    baseURL: server.baseURL,
    model: 'whisper-1',
    maxRetries: 1,
    tmpDir: tmp,
    maxFileBytes: limit,
  });
  const [result, direct] = await Promise.all([
    engine.transcribe(wav, { language: 'en' }, () => undefined),
    rawSphinxTranscript(wav),
  ]);
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]).toMatchObject({ status: 200, fileName: 'audio.ogg' });
  expect(server.requests[0]!.fileBytes).toBeLessThanOrEqual(limit);
  expect(result.segments.length).toBeGreaterThan(1);
  const viaOpenAI = wordErrorRate(reference, result.text);
  const baseline = wordErrorRate(reference, direct);
  console.log(
    `WER librivox: compressed via openai engine ${viaOpenAI.toFixed(3)}, pocketsphinx on the WAV ${baseline.toFixed(3)}`,
  );
  // Lossy compression costs pocketsphinx a word or two; whisper models barely notice.
  expect(viaOpenAI).toBeLessThanOrEqual(baseline + 0.1);
});

it("refuses a file over the server's own limit (413) as engine_rejected", async () => {
  const small = await startOpenAICompatibleServer({ maxFileBytes: 100_000 });
  const engine = createOpenAIEngine({
    baseURL: small.baseURL,
    model: 'whisper-1',
    maxRetries: 2,
    tmpDir: tmp,
  });
  try {
    await expect(
      engine.transcribe(audioFixture('jfk.wav'), { language: 'en' }, () => undefined),
    ).rejects.toMatchObject({
      name: 'PermanentJobError',
      code: 'engine_rejected',
      message: expect.stringMatching(/413/),
    });
    expect(small.requests.map((r) => r.status)).toEqual([413]);
  } finally {
    await small.close();
  }
});
