// A job's language as it completes, on a real Postgres: kept when known at creation,
// else the language heard over most of the audio across chunks, else `und`.
import { v7 as uuidv7 } from 'uuid';
import type { LanguageSource } from '@transcribe/contracts';
import { createTestEnv, type TestEnv } from '../../testkit/src/index.js';
import {
  claimJob,
  completeJob,
  ensureChunkPlan,
  ensureTenant,
  insertJob,
  storeChunkResult,
} from '../src/index.js';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await createTestEnv();
  tenantId = await ensureTenant(env.db, 'tenant-language');
}, 60_000);

afterAll(async () => {
  await env?.close();
});

/**
 * Runs a job to completion with chunks of the given lengths, each heard as the given
 * language (null: the engine named none); returns the completed row's language columns.
 */
async function completeWith(
  job: { language: string; resolved?: string; source?: LanguageSource },
  chunks: { seconds: number; heard: string | null }[],
) {
  const id = uuidv7();
  await insertJob(env.db, {
    id,
    tenant_id: tenantId,
    upload_id: null,
    status: 'queued',
    stage: 'queued',
    priority: 'default',
    object_key: `${tenantId}/x/a.wav`,
    filename: 'a.wav',
    content_type: 'audio/wav',
    size_bytes: 1234,
    language: job.language,
    resolved_language: job.resolved ?? null,
    language_source: job.source ?? null,
    engine: 'openai',
  });
  const claimed = (await claimJob(env.db, id, { leaseMs: 60_000, takeOver: false }))!;
  let at = 0;
  const plan = chunks.map((c) => {
    const span = { startS: at, endS: at + c.seconds };
    at += c.seconds;
    return span;
  });
  await ensureChunkPlan(env.db, id, plan);
  for (const [index, c] of chunks.entries()) {
    await storeChunkResult(env.db, {
      jobId: id,
      index,
      attempt: claimed.attempts,
      text: 'x',
      segments: [],
      model: null,
      language: c.heard,
      processingMs: 1,
    });
  }
  const done = await completeJob(env.db, {
    id,
    attempt: claimed.attempts,
    text: 'x',
    segments: [],
    durationS: at,
    processingMs: 1,
    model: null,
  });
  return { language: done?.resolved_language, source: done?.language_source };
}

it('auto: the language heard over the most seconds wins, not the most chunks', async () => {
  const result = await completeWith({ language: 'auto' }, [
    { seconds: 20, heard: 'fr' },
    { seconds: 20, heard: 'fr' },
    { seconds: 300, heard: 'de' },
    { seconds: 10, heard: null },
  ]);
  expect(result).toEqual({ language: 'de', source: 'detected' });
});

it('auto: a tie goes to the earlier chunk', async () => {
  const result = await completeWith({ language: 'auto' }, [
    { seconds: 100, heard: 'es' },
    { seconds: 100, heard: 'it' },
  ]);
  expect(result).toEqual({ language: 'es', source: 'detected' });
});

it('auto with nothing detected is undetermined (und)', async () => {
  const result = await completeWith({ language: 'auto' }, [{ seconds: 30, heard: null }]);
  expect(result).toEqual({ language: 'und', source: 'undetermined' });
});

it('keeps what was known at creation: a requested tag, or an engine-default', async () => {
  expect(
    await completeWith({ language: 'en-US', resolved: 'en-US', source: 'requested' }, [
      { seconds: 30, heard: 'fr' },
    ]),
  ).toEqual({ language: 'en-US', source: 'requested' });
  expect(
    await completeWith({ language: 'auto', resolved: 'en', source: 'engine-default' }, [
      { seconds: 30, heard: null },
    ]),
  ).toEqual({ language: 'en', source: 'engine-default' });
  // A row from before migration 0007 had what it asked for.
  expect(await completeWith({ language: 'fr' }, [{ seconds: 30, heard: null }])).toEqual({
    language: 'fr',
    source: 'requested',
  });
});
