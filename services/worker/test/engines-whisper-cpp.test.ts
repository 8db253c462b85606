// The whisper-cpp engine with the real binding and the test GGML model from
// ../shared/fixtures/models (no trained weights: it loads and runs but its text is
// empty or garbage, so only the result's shape is asserted), and the start-up errors
// for missing and corrupt models.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audioFixture, whisperTestModel } from '../../../packages/testkit/src/index.js';
import {
  createWhisperCppEngine,
  WhisperModelError,
  type WhisperCppEngine,
} from '../src/engines/whisper-cpp.js';

// Recognition runs at a fraction of real time when the 2-core machine is busy.
jest.setTimeout(300_000);

const fixtureModel = whisperTestModel();
const jfkWav = audioFixture('jfk.wav');
let dir: string;
let engine: WhisperCppEngine;
const nativeLog: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whisper-cpp-test-'));
  // A models folder of our own, so a job can name a second model in it.
  await copyFile(fixtureModel, join(dir, 'default.bin'));
  await copyFile(fixtureModel, join(dir, 'other.bin'));
  engine = await createWhisperCppEngine({
    modelPath: join(dir, 'default.bin'),
    threads: 2,
    onNativeLog: (level, text) => nativeLog.push(`${level} ${text}`),
  });
});
afterAll(async () => {
  await engine?.release();
  await rm(dir, { recursive: true, force: true });
});

// Each run of this untrained model decodes a full 30 s window of garbage (~20-40 s on a
// busy 2-core machine), so the file decodes once.
it('transcribes real speech with a job-named model; a canceled job waiting its turn stops at once', async () => {
  const progress: number[] = [];
  const running = engine.transcribe(jfkWav, { language: 'en-US', model: 'other.bin' }, (s) =>
    progress.push(s),
  );
  const controller = new AbortController();
  const queued = engine.transcribe(jfkWav, { language: 'en', signal: controller.signal }, () => {
    throw new Error('a canceled job must not run');
  });
  controller.abort();
  await expect(queued).rejects.toMatchObject({ name: 'AbortError' });

  const result = await running;
  expect(typeof result.text).toBe('string');
  expect(result.model).toBe('other.bin');
  for (const s of result.segments) {
    expect(s.start).toBeGreaterThanOrEqual(0);
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBeLessThanOrEqual(11.5);
    expect(s.text).toBe(s.text.trim());
  }
  if (result.segments.length > 0) {
    expect(result.text).toBe(result.segments.map((s) => s.text).join(' '));
  }
  // Words from token timestamps: the segments' words, in order (the test model's are garbage).
  const words = result.words ?? [];
  expect(words.map((w) => w.word).join(' ')).toBe(result.segments.map((s) => s.text).join(' '));
  for (const [i, w] of words.entries()) {
    expect(w.end).toBeGreaterThanOrEqual(w.start);
    if (i > 0) expect(w.start).toBeGreaterThanOrEqual(words[i - 1]!.start);
  }
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  for (const p of progress) expect(p).toBeLessThanOrEqual(11);
  // whisper.cpp's own log came to us, not to stderr.
  expect(nativeLog.some((line) => line.includes('whisper_model_load'))).toBe(true);
});

it.each(['../default.bin', '/etc/passwd', 'sub/other.bin', 'missing.bin', 'default.txt'])(
  'refuses model %p as engine_rejected without opening anything outside the folder',
  async (model) => {
    await expect(
      engine.transcribe(jfkWav, { language: 'en', model }, () => undefined),
    ).rejects.toMatchObject({ name: 'PermanentJobError', code: 'engine_rejected' });
  },
);

it('names a missing model file in a clear start-up error', async () => {
  const path = join(dir, 'no-such-model.bin');
  // With the native log routed, a failed start must undo it (or the process would hang).
  const failure = createWhisperCppEngine({ modelPath: path, onNativeLog: () => undefined });
  await expect(failure).rejects.toBeInstanceOf(WhisperModelError);
  await expect(failure).rejects.toThrow(`cannot load the whisper.cpp model ${path}: no such file`);
});

it('names a corrupt model file (junk bytes) in a clear start-up error', async () => {
  const path = join(dir, 'junk.bin');
  await writeFile(path, Buffer.from('this is not a ggml model, just some junk bytes '.repeat(100)));
  await expect(createWhisperCppEngine({ modelPath: path })).rejects.toThrow(
    /cannot load the whisper.cpp model .*junk\.bin: not a whisper.cpp GGML model/,
  );
});
