// The pipeline against a real S3 API, ffmpeg and pocketsphinx: temp files go away on
// every path, and storage problems become the right job error.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestEnv,
  fixturesDir,
  JFK_REFERENCE,
  wordErrorRate,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { createEngineSelector } from '../src/engines/selector.js';
import { createSphinxEngine } from '../src/engines/sphinx.js';
import { runPipeline, type Stage } from '../src/pipeline.js';

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

function deps() {
  return {
    storage: env.storage,
    engines: createEngineSelector([createSphinxEngine()]),
    tmpDir: scratch,
    maxDurationS: 3600,
  };
}

it('transcribes an object, reports stages in order and leaves no temp files', async () => {
  await env.storage.upload(
    't/jfk.mp3',
    await readFile(join(fixturesDir(), 'audio', 'jfk.mp3')),
    'audio/mpeg',
  );
  const seen: [number, Stage][] = [];
  const result = await runPipeline(
    { engine: 'sphinx', objectKey: 't/jfk.mp3', language: 'en', model: null },
    deps(),
    (p, s) => seen.push([p, s]),
  );
  expect(wordErrorRate(JFK_REFERENCE, result.text)).toBeLessThan(1);
  expect(result.durationS).toBeCloseTo(11, 0);
  const stages = [...new Set(seen.map(([, s]) => s))];
  expect(stages).toEqual(['downloading', 'probing', 'normalizing', 'transcribing']);
  const progress = seen.map(([p]) => p);
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  expect(await readdir(scratch)).toEqual([]);
});

it('fails bad media with invalid_media and leaves no temp files', async () => {
  await env.storage.upload('t/noise.wav', randomBytes(32 * 1024), 'audio/wav');
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
