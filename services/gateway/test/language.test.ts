// Honest languages at job creation (issue 12): a language the job's engine cannot
// transcribe is refused with 400 language_unsupported on both creation routes, leaving no
// job, no spent upload and (for the form upload) no object; `auto` records what it can
// know up front. Real Postgres, RabbitMQ and S3.
import { CreateJobResponse, type ErrorBody } from '@transcribe/contracts';
import { createRegistry } from '@transcribe/telemetry';
import {
  expectError,
  recordingUploads,
  startGatewayHarness,
  type GatewayHarness,
} from './support/harness.js';

let h: GatewayHarness;
/** A second gateway on the same deps whose storage remembers every key it uploaded. */
let recordingBase: string;
const uploadedKeys: string[] = [];

beforeAll(async () => {
  h = await startGatewayHarness({
    settings: {
      engines: ['sphinx', 'whisper-cpp', 'openai'],
      engineLanguages: {
        SPHINX_LANGUAGE: 'en',
        WHISPER_MODEL_PATH: '/models/for-tests-ggml-tiny.en.bin',
        OPENAI_LANGUAGES: ['en', 'fr'],
      },
    },
  });
  const recording = recordingUploads(h.deps.storage, uploadedKeys);
  recordingBase = await h.listen({
    ...h.deps,
    storage: recording,
    registry: createRegistry('gateway'),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function jobCount(): Promise<number> {
  const { n } = await h.env.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

function form(fields: Record<string, string>): FormData {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  body.append('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
  return body;
}

describe('POST /v1/jobs', () => {
  it('refuses fr on sphinx (en model) with 400 language_unsupported, naming engine and languages; the upload stays unused', async () => {
    const jobsBefore = await jobCount();
    const upload = await h.uploadJfk();
    const res = await h.createJob(upload.uploadId, h.keyA, { language: 'fr' });
    const error = expectError(res, 400, 'language_unsupported');
    expect(error.message).toContain('sphinx');
    expect(error.message).toContain('supports: en');
    expect((res.json as ErrorBody).error.details).toMatchObject({ supported: ['en'] });
    expect(await jobCount()).toBe(jobsBefore);
    const row = await h.env.db
      .selectFrom('uploads')
      .select('status')
      .where('id', '=', upload.uploadId)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('pending');
  });

  it('compares on the primary subtag: en-US is English, fr-CA is not', async () => {
    const ok = await h.createJob((await h.uploadJfk()).uploadId, h.keyA, { language: 'en-US' });
    expect(ok.status).toBe(202);
    expect(CreateJobResponse.parse(ok.json)).toMatchObject({
      language: 'en-US',
      requestedLanguage: 'en-US',
      languageSource: 'requested',
    });
    expectError(
      await h.createJob((await h.uploadJfk()).uploadId, h.keyA, { language: 'fr-CA' }),
      400,
      'language_unsupported',
    );
  });

  it('refuses fr on whisper-cpp with an English-only (.en) model, and a job model decides', async () => {
    const error = expectError(
      await h.createJob((await h.uploadJfk()).uploadId, h.keyA, {
        engine: 'whisper-cpp',
        language: 'fr',
      }),
      400,
      'language_unsupported',
    );
    expect(error.message).toContain('whisper-cpp');
    // A multilingual model named by the job takes French (the worker loads it, or fails the job).
    const multilingual = await h.createJob((await h.uploadJfk()).uploadId, h.keyA, {
      engine: 'whisper-cpp',
      model: 'ggml-base.bin',
      language: 'fr',
    });
    expect(multilingual.status).toBe(202);
  });

  it('takes what OPENAI_LANGUAGES lists for openai, and refuses the rest', async () => {
    const fr = await h.createJob((await h.uploadJfk()).uploadId, h.keyA, {
      engine: 'openai',
      language: 'fr',
    });
    expect(fr.status).toBe(202);
    const de = expectError(
      await h.createJob((await h.uploadJfk()).uploadId, h.keyA, {
        engine: 'openai',
        language: 'de',
      }),
      400,
      'language_unsupported',
    );
    expect(de.message).toContain('supports: en, fr');
  });

  it('auto: the engine language on sphinx at once; left to detection on openai', async () => {
    const sphinx = CreateJobResponse.parse(
      (await h.createJob((await h.uploadJfk()).uploadId, h.keyA, { language: 'auto' })).json,
    );
    expect(sphinx).toMatchObject({
      language: 'en',
      requestedLanguage: 'auto',
      languageSource: 'engine-default',
    });
    const openai = CreateJobResponse.parse(
      (
        await h.createJob((await h.uploadJfk()).uploadId, h.keyA, {
          engine: 'openai',
          language: 'auto',
        })
      ).json,
    );
    expect(openai).toMatchObject({
      language: 'auto',
      requestedLanguage: 'auto',
      languageSource: null,
    });
  });
});

describe('POST /v1/jobs/upload', () => {
  it('refuses fr on sphinx with 400 language_unsupported and leaves no job, upload row or object', async () => {
    const jobsBefore = await jobCount();
    const keysBefore = uploadedKeys.length;
    const res = await h.api(
      '/v1/jobs/upload',
      { method: 'POST', rawBody: form({ language: 'fr' }) },
      recordingBase,
    );
    expectError(res, 400, 'language_unsupported');
    expect(await jobCount()).toBe(jobsBefore);
    const keys = uploadedKeys.slice(keysBefore);
    expect(keys).toHaveLength(1);
    expect(await h.storage.head(keys[0]!)).toBeUndefined();
    const rows = await h.env.db
      .selectFrom('uploads')
      .select('id')
      .where('object_key', '=', keys[0]!)
      .execute();
    expect(rows).toEqual([]);
  });

  it('accepts auto on sphinx and says en, engine-default', async () => {
    const res = await h.api('/v1/jobs/upload', {
      method: 'POST',
      rawBody: form({ language: 'auto' }),
    });
    expect(res.status).toBe(202);
    expect(CreateJobResponse.parse(res.json)).toMatchObject({
      language: 'en',
      requestedLanguage: 'auto',
      languageSource: 'engine-default',
    });
  });
});
