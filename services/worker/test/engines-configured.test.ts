// Which engines a worker runs, from its environment: only the configured ones, a clear
// start-up failure for a bad model or default, and engine_unavailable for the rest.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseEnv, workerSchema } from '@transcribe/config';
import { audioFixture, whisperTestModel, repoRoot } from '../../../packages/testkit/src/index.js';
import {
  createConfiguredEngines,
  enabledEngineNames,
  EngineStartupError,
  type ConfiguredEngines,
} from '../src/engines/configured.js';

const run = promisify(execFile);
const fixtureModel = whisperTestModel();
const baseEnv = { S3_BUCKET: 'test-bucket', TOKEN_SECRET: 'a-test-secret-of-some-length' };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engines-configured-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (env: Record<string, string> = {}) => parseEnv(workerSchema, { ...baseEnv, ...env });

it('enables sphinx alone by default, and each engine once it is configured', () => {
  expect(config()).toMatchObject({ DEFAULT_ENGINE: 'sphinx', OPENAI_MODEL: 'whisper-1' });
  expect(enabledEngineNames(config())).toEqual(['sphinx']);
  expect(enabledEngineNames(config({ OPENAI_API_KEY: 'sk-x' }))).toEqual(['sphinx', 'openai']);
  expect(
    enabledEngineNames(
      config({ OPENAI_BASE_URL: 'http://speaches:8000/v1', WHISPER_MODEL_PATH: '/m/x.bin' }),
    ),
  ).toEqual(['sphinx', 'openai', 'whisper-cpp']);
  expect(() => config({ DEFAULT_ENGINE: 'deepgram' })).toThrow(/DEFAULT_ENGINE/);
  expect(() => config({ OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
});

it('builds only the configured engines and fails jobs for the others with engine_unavailable', async () => {
  const engines = await createConfiguredEngines(
    config({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', DEFAULT_ENGINE: 'openai' }),
  );
  expect(engines.names).toEqual(['openai', 'sphinx']);
  expect(engines.get('').name).toBe('openai');
  expect(engines.get('sphinx').name).toBe('sphinx');
  expect(() => engines.get('whisper-cpp')).toThrow(
    expect.objectContaining({ name: 'PermanentJobError', code: 'engine_unavailable' }),
  );
  await engines.close();
});

it('loads the whisper.cpp model at start when WHISPER_MODEL_PATH is set', async () => {
  let engines: ConfiguredEngines | undefined;
  try {
    engines = await createConfiguredEngines(config({ WHISPER_MODEL_PATH: fixtureModel }));
    expect(engines.names).toEqual(['sphinx', 'whisper-cpp']);
    expect(engines.get('whisper-cpp').name).toBe('whisper-cpp');
  } finally {
    await engines?.close();
  }
});

it('refuses, before any work, a language the engine or its model cannot transcribe (language_unsupported)', async () => {
  let engines: ConfiguredEngines | undefined;
  const wav = audioFixture('jfk.wav');
  try {
    engines = await createConfiguredEngines(
      config({ WHISPER_MODEL_PATH: fixtureModel, SPHINX_LANGUAGE: 'en' }),
    );
    const refused = expect.objectContaining({
      name: 'PermanentJobError',
      code: 'language_unsupported',
    });
    // The test model is English-only (`.en`): French would come out as English words.
    await expect(
      engines.get('whisper-cpp').transcribe(wav, { language: 'fr' }, () => undefined),
    ).rejects.toEqual(refused);
    await expect(
      engines.get('whisper-cpp').transcribe(wav, { language: 'fr' }, () => undefined),
    ).rejects.toThrow("engine 'whisper-cpp' cannot transcribe 'fr'; it supports: en");
    await expect(
      engines.get('sphinx').transcribe(wav, { language: 'de-DE' }, () => undefined),
    ).rejects.toEqual(refused);
  } finally {
    await engines?.close();
  }
});

it('refuses to start with a default engine that is not configured', async () => {
  await expect(createConfiguredEngines(config({ DEFAULT_ENGINE: 'openai' }))).rejects.toThrow(
    new EngineStartupError(
      'DEFAULT_ENGINE=openai is not enabled on this worker: set OPENAI_BASE_URL or OPENAI_API_KEY',
    ),
  );
});

it.each([
  ['missing', 'no-such-model.bin', /no such file/],
  ['corrupt', 'junk.bin', /not a whisper.cpp GGML model/],
])('names WHISPER_MODEL_PATH when the model is %s', async (_, name, reason) => {
  const path = join(dir, name);
  if (name === 'junk.bin') await writeFile(path, Buffer.alloc(4096, 0x5a));
  const failure = createConfiguredEngines(config({ WHISPER_MODEL_PATH: path }));
  await expect(failure).rejects.toBeInstanceOf(EngineStartupError);
  await expect(failure).rejects.toThrow(
    `WHISPER_MODEL_PATH: cannot load the whisper.cpp model ${path}`,
  );
  await expect(failure).rejects.toThrow(reason);
});

it('the worker process exits with code 2 and says which variable to fix (no crash loop)', async () => {
  const main = join(repoRoot(), 'services', 'worker', 'dist', 'main.js');
  const missing = join(dir, 'gone.bin');
  const failure = await run(process.execPath, [main], {
    env: { ...process.env, ...baseEnv, WHISPER_MODEL_PATH: missing, METRICS_PORT: '0' },
    timeout: 60_000,
  }).then(
    () => undefined,
    (error: { code?: number; stderr?: string }) => error,
  );
  expect(failure?.code).toBe(2);
  expect(failure?.stderr).toContain(
    `worker: WHISPER_MODEL_PATH: cannot load the whisper.cpp model ${missing}: no such file`,
  );
});

it('runs sphinx in a resident decoder when given one (SPHINX_RESIDENT, the default)', async () => {
  expect(config()).toMatchObject({ SPHINX_RESIDENT: true, FANOUT_SPREAD_CHUNKS: 8 });
  expect(config({ SPHINX_RESIDENT: 'false' }).SPHINX_RESIDENT).toBe(false);
  // 12 h, so the 10 hours hosted services take fit; the tenant's daily quota is the guard.
  expect(config().MAX_DURATION_S).toBe(12 * 3600);
  const engines = await createConfiguredEngines(config(), {
    sphinxDecoder: {
      script: join(repoRoot(), 'services/worker/dist/engines/sphinx-decoder.js'),
      concurrency: 1,
    },
  });
  try {
    await engines.warm();
    const result = await engines
      .get('sphinx')
      .transcribe(audioFixture('jfk.wav'), { language: 'en' }, () => {});
    expect(result.text).toMatch(/country/);
  } finally {
    await engines.close();
  }
});
