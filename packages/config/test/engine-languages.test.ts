import {
  engineLanguageSupport,
  isEnglishOnlyWhisperModel,
  parseEnv,
  workerSchema,
} from '../src/index.js';

const base = { S3_BUCKET: 'test-bucket', TOKEN_SECRET: 'a-test-secret-of-some-length' };

it('tells English-only whisper.cpp models by name', () => {
  expect(isEnglishOnlyWhisperModel('/models/ggml-base.en.bin')).toBe(true);
  expect(isEnglishOnlyWhisperModel('for-tests-ggml-tiny.en.bin')).toBe(true);
  expect(isEnglishOnlyWhisperModel('ggml-base.en-q5_1.bin')).toBe(true);
  expect(isEnglishOnlyWhisperModel('ggml-large-v3.bin')).toBe(false);
  expect(isEnglishOnlyWhisperModel('ggml-small.english.bin')).toBe(false);
});

it('gives each engine its languages from the variables', () => {
  const config = parseEnv(workerSchema, {
    ...base,
    SPHINX_LANGUAGE: 'de',
    WHISPER_MODEL_PATH: '/models/ggml-tiny.en.bin',
    OPENAI_LANGUAGES: 'en, FR',
  });
  expect(engineLanguageSupport(config, 'sphinx')).toEqual({ languages: ['de'], detects: false });
  expect(engineLanguageSupport(config, 'whisper-cpp')).toEqual({
    languages: ['en'],
    detects: false,
  });
  // A job naming a multilingual model gets whisper's list, and detection.
  expect(engineLanguageSupport(config, 'whisper-cpp', 'ggml-base.bin')).toMatchObject({
    detects: true,
  });
  expect(engineLanguageSupport(config, 'openai')).toEqual({
    languages: ['en', 'fr'],
    detects: true,
  });
});

it('defaults: sphinx en, openai whisper list; refuses a bad code', () => {
  const config = parseEnv(workerSchema, base);
  expect(engineLanguageSupport(config, 'sphinx').languages).toEqual(['en']);
  expect(engineLanguageSupport(config, 'openai').languages.length).toBeGreaterThanOrEqual(99);
  expect(() => parseEnv(workerSchema, { ...base, SPHINX_LANGUAGE: 'English' })).toThrow(
    /SPHINX_LANGUAGE/,
  );
  expect(() => parseEnv(workerSchema, { ...base, OPENAI_LANGUAGES: 'en,french' })).toThrow(
    /OPENAI_LANGUAGES/,
  );
});
