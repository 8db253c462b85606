// The pipeline against a real S3 API, ffmpeg and pocketsphinx: temp files go away on
// every path, and storage problems become the right job error.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestEnv,
  audioFixture,
  JFK_REFERENCE,
  wordErrorRate,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createSphinxEngine } from '../src/engines/sphinx.js';
import { memoryChunkStore, runPipeline, type Stage } from '../src/pipeline.js';
import { joinLibrivox } from './speech.js';

let env: TestEnv;
let scratch: string;

beforeAll(async () => {
  env = await createTestEnv();
  scratch = await mkdtemp(join(tmpdir(), 'pipeline-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await env.close();
});

function deps(chunkS = 300) {
  return {
    storage: env.storage,
    engines: createEngineSelector([createSphinxEngine()]),
    tmpDir: scratch,
    maxDurationS: 3600,
    chunkS,
    chunkWindowS: 5,
  };
}

it('transcribes an object, reports stages in order and leaves no temp files', async () => {
  await env.storage.upload('t/jfk.mp3', await readFile(audioFixture('jfk.mp3')), 'audio/mpeg');
  const seen: [number, Stage][] = [];
  const result = await runPipeline(
    { engine: 'sphinx', objectKey: 't/jfk.mp3', language: 'en', model: null },
    deps(),
    (p, s) => seen.push([p, s]),
  );
  expect(wordErrorRate(JFK_REFERENCE, result.text)).toBeLessThan(1);
  expect(result.durationS).toBeCloseTo(11, 0);
  const stages = [...new Set(seen.map(([, s]) => s))];
  expect(stages).toEqual(['downloading', 'probing', 'normalizing', 'splitting', 'transcribing']);
  const progress = seen.map(([p]) => p);
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  expect(await readdir(scratch)).toEqual([]);
});

it('fails bad media with invalid_media and leaves no temp files', async () => {
  // The same noise every run: fresh random bytes now and then look like a container to
  // ffprobe (one with no audio stream: `no_audio_stream`), and the test flipped.
  await env.storage.upload('t/noise.wav', seededNoise(32 * 1024), 'audio/wav');
  await expect(
    runPipeline(
      { engine: 'sphinx', objectKey: 't/noise.wav', language: 'en', model: null },
      deps(),
      () => undefined,
    ),
  ).rejects.toMatchObject({ name: 'PermanentJobError', code: 'invalid_media' });
  expect(await readdir(scratch)).toEqual([]);
});

it('turns a missing object into object_missing and leaves no temp files', async () => {
  await expect(
    runPipeline(
      { engine: 'sphinx', objectKey: 't/gone.wav', language: 'en', model: null },
      deps(),
      () => undefined,
    ),
  ).rejects.toMatchObject({ name: 'PermanentJobError', code: 'object_missing' });
  expect(await readdir(scratch)).toEqual([]);
});

describe('a several-minute recording in chunks', () => {
  let reference: string;

  // Generous limits: under load (other suites on 2 cores) pocketsphinx runs many times slower.
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-speech-'));
    try {
      const recording = await joinLibrivox(join(dir, 'speech.wav'), 5);
      reference = recording.reference;
      expect(recording.durationS).toBeGreaterThan(120);
      await env.storage.upload('t/speech.wav', await readFile(recording.file), 'audio/wav');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('transcribes as well as in one piece, with stitched times in order and in range', async () => {
    const input = { engine: 'sphinx', objectKey: 't/speech.wav', language: 'en', model: null };
    const store = memoryChunkStore();
    const chunkProgress: number[] = [];
    const [whole, chunked] = await Promise.all([
      runPipeline(input, deps(10_000), () => undefined),
      runPipeline(
        input,
        deps(30),
        (p, stage) => stage === 'transcribing' && chunkProgress.push(p),
        undefined,
        store,
      ),
    ]);
    expect(whole.chunks).toBe(1);
    expect(chunked.chunks).toBeGreaterThanOrEqual(4);
    expect(chunked.chunksTranscribed).toBe(chunked.chunks);

    const werWhole = wordErrorRate(reference, whole.text);
    const werChunked = wordErrorRate(reference, chunked.text);
    expect(werChunked).toBeLessThanOrEqual(werWhole + 0.05);

    let last = 0;
    for (const segment of chunked.segments) {
      expect(segment.start).toBeGreaterThanOrEqual(last);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      last = segment.end;
    }
    expect(last).toBeLessThanOrEqual(chunked.durationS);
    // Segments from late chunks are really late: the offsets were applied.
    expect(last).toBeGreaterThan(chunked.durationS - 30);

    // Words are on the recording's time line too: in order across the chunks, and the
    // same words as the stitched text (pocketsphinx's segments are its words).
    expect(chunked.words.map((w) => w.word).join(' ')).toBe(chunked.text);
    let lastWord = 0;
    for (const w of chunked.words) {
      expect(w.start).toBeGreaterThanOrEqual(lastWord);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      lastWord = w.end;
    }
    expect(lastWord).toBe(last);

    const chunks = await store.plan([]);
    for (const chunk of chunks) {
      for (const s of [...chunk.segments, ...chunk.words]) {
        expect(s.start).toBeGreaterThanOrEqual(chunk.startS);
        expect(s.end).toBeLessThanOrEqual(chunk.endS);
      }
    }
    expect(chunks.filter((c) => c.words.length > 0).length).toBeGreaterThanOrEqual(4);
    expect([...chunkProgress].sort((a, b) => a - b)).toEqual(chunkProgress);
    expect(await readdir(scratch)).toEqual([]);
  }, 900_000);
});

describe('fan-out of a recording a few chunks long', () => {
  it('spreads it over spreadChunks equal chunks, all dispatched at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipeline-spread-'));
    try {
      const recording = await joinLibrivox(join(dir, 'speech.wav'), 5);
      await env.storage.upload('t/spread.wav', await readFile(recording.file), 'audio/wav');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const uploaded: number[] = [];
    const dispatched: number[][] = [];
    const store = memoryChunkStore();
    const result = await runPipeline(
      { engine: 'sphinx', objectKey: 't/spread.wav', language: 'en', model: null },
      deps(100),
      () => {},
      undefined,
      store,
      {
        minChunks: 3,
        spreadChunks: 4,
        upload: async (index) => void uploaded.push(index),
        dispatch: async (indexes) => (dispatched.push(indexes), true),
      },
    );
    // 2–3 minutes in 100 s chunks would be 2; four of 30–50 s let four workers share it.
    expect(result.durationS).toBeGreaterThan(120);
    expect(result.durationS).toBeLessThan(200);
    expect(result.fannedOut).toBe(4);
    expect(uploaded).toEqual([0, 1, 2, 3]);
    expect(dispatched).toEqual([[0, 1, 2, 3]]);
    const plan = await store.plan([]);
    const lengths = plan.map((c) => c.endS - c.startS);
    for (const l of lengths) expect(Math.abs(l - result.durationS / 4)).toBeLessThan(6);
    expect(await readdir(scratch)).toEqual([]);
  });
});

/** Bytes that look random but are the same every run (a linear congruential generator). */
function seededNoise(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = 12345;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}
