// The deterministic engine the worker's policy tests run on: it must say the words of the
// stretch of a known recording it is given, and fail, hang and wait exactly as told.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeterministicEngine, type KnownSpeech } from './support/deterministic-engine.js';

const RATE = 16_000;
let dir: string;
let recording: KnownSpeech;
let samples: Int16Array;

/** A 16 kHz mono s16le WAV file of `data`. */
async function writeWav(file: string, data: Int16Array): Promise<string> {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length * 2, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length * 2, 40);
  await writeFile(file, Buffer.concat([header, Buffer.from(data.buffer)]));
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deterministic-engine-'));
  // 10 s: "speech" (a deterministic loud noise) 0–4 s and 5–9 s, silence between.
  samples = new Int16Array(10 * RATE);
  let state = 0x2545f491;
  for (let i = 0; i < samples.length; i++) {
    const s = i / RATE;
    if ((s >= 0 && s < 4) || (s >= 5 && s < 9)) {
      // xorshift32: no window of it repeats within the file
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      samples[i] = ((state >>> 0) % 20_000) - 10_000;
    }
  }
  recording = {
    file: await writeWav(join(dir, 'recording.wav'), samples),
    clips: [
      { startS: 0, endS: 4, reference: 'alpha beta gamma' },
      { startS: 5, endS: 9, reference: 'delta epsilon' },
    ],
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const noProgress = () => undefined;

it('says the words spoken in the stretch of a known recording it is given, timed from its start', async () => {
  const engine = createDeterministicEngine({ msPerAudioS: 0, speech: [recording] });
  // 3 s to 8 s: "gamma" (at 3.33 s) and "delta" (at 6 s); "epsilon" is at 8 s, past the end.
  const chunk = await writeWav(join(dir, 'chunk.wav'), samples.slice(3 * RATE, 8 * RATE));
  const result = await engine.transcribe(chunk, { language: 'en' }, noProgress);
  expect(result.text).toBe('gamma delta');
  expect(result.segments).toEqual([
    { start: 0, end: 1, text: 'gamma' },
    { start: 2, end: 5, text: 'delta' },
  ]);
});

it('gives stable placeholder words for audio it does not know', async () => {
  const engine = createDeterministicEngine({ msPerAudioS: 0 });
  const result = await engine.transcribe(recording.file, { language: 'en' }, noProgress);
  expect(result.text).toBe(Array.from({ length: 10 }, (_, i) => `word${i + 1}`).join(' '));
});

it('reports progress up to the whole duration, never going back', async () => {
  const engine = createDeterministicEngine({ msPerAudioS: 1, progressStepS: 3 });
  const reported: number[] = [];
  await engine.transcribe(recording.file, { language: 'en' }, (s) => reported.push(s));
  expect(reported).toEqual([3, 6, 9, 10]);
});

it('fails the calls it is told to, and counts every call', async () => {
  const engine = createDeterministicEngine({ msPerAudioS: 0, fail: (call) => call === 2 });
  await engine.transcribe(recording.file, { language: 'en' }, noProgress);
  await expect(engine.transcribe(recording.file, { language: 'en' }, noProgress)).rejects.toThrow(
    'engine exploded on call 2',
  );
  expect(engine.calls).toBe(2);
});

it('hangs until aborted, then rejects with AbortError', async () => {
  const engine = createDeterministicEngine({ hang: () => true });
  const controller = new AbortController();
  const pending = engine.transcribe(
    recording.file,
    { language: 'en', signal: controller.signal },
    noProgress,
  );
  controller.abort();
  await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
});

it('finishes only once its gate opens; an abort ends the wait', async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const engine = createDeterministicEngine({ msPerAudioS: 0, gate: () => gate });
  let finished = false;
  const pending = engine
    .transcribe(recording.file, { language: 'en' }, noProgress)
    .then(() => (finished = true));
  await new Promise((resolve) => setImmediate(resolve));
  expect(finished).toBe(false);
  open();
  await pending;
  expect(finished).toBe(true);

  const controller = new AbortController();
  const held = createDeterministicEngine({ gate: () => new Promise(() => undefined) }).transcribe(
    recording.file,
    { language: 'en', signal: controller.signal },
    noProgress,
  );
  controller.abort();
  await expect(held).rejects.toMatchObject({ name: 'AbortError' });
});
