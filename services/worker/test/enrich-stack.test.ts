// The worker processes as deployed (main.ts wiring): a transcription-only worker and two
// enrichment-only workers (WORKER_LANES) on real Postgres, RabbitMQ and the chat server.
// A long enrichment is fanned out over both enrich workers; the transcribe-only worker
// never consumes the lane.
import { ensureTenant, findEnrichmentById } from '@transcribe/db';
import {
  createTestEnv,
  startChatServer,
  startStack,
  waitFor,
  type ChatServer,
  type Stack,
  type TestEnv,
} from '../../../packages/testkit/src/index.js';
import { seedCompletedJob, transcript } from './support/enrich-world.js';

jest.setTimeout(300_000);

let env: TestEnv;
let chat: ChatServer;
let stack: Stack;

beforeAll(async () => {
  env = await createTestEnv();
  chat = await startChatServer({ delayMs: 100 });
  stack = await startStack({
    env: {
      ...env.env,
      ENGINES: 'sphinx',
      WORKER_LANES: 'transcribe',
      ENRICH_BASE_URL: chat.url,
      ENRICH_MODEL: 'stack-chat',
      ENRICH_PIECE_TOKENS: '40',
      ENRICH_FANOUT: '3',
      ENRICH_CONCURRENCY: '1',
      LOG_LEVEL: 'info',
    },
  });
  await stack.addWorker({ WORKER_LANES: 'enrich', LOG_LEVEL: 'debug' });
  await stack.addWorker({ WORKER_LANES: 'enrich', LOG_LEVEL: 'debug' });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await chat?.close();
  await env?.close();
});

it('enrich-only workers share a long enrichment and complete it', async () => {
  const tenantId = await ensureTenant(env.db, 'tenant-enrich-stack');
  const { enrichments } = await seedCompletedJob(env.db, tenantId, transcript(40), [
    'clean',
    'summary',
  ]);
  for (const e of enrichments) {
    const row = await waitFor(
      async () => {
        const current = await findEnrichmentById(env.db, e.id);
        return current && ['completed', 'failed', 'canceled'].includes(current.status) && current;
      },
      { timeoutMs: 180_000, what: `${e.key} to settle` },
    );
    expect(row).toMatchObject({ status: 'completed', model: 'stack-chat' });
    expect(row.pieces_total).toBeGreaterThan(5);
  }
  // Both enrich-only workers stored pieces (their debug logs say so); the
  // transcription-only worker never touched the lane.
  const outputs = [...stack.services.entries()]
    .filter(([id]) => id.startsWith('worker-'))
    .map(([id, service]) => ({ id, output: service.output() }));
  expect(outputs).toHaveLength(3);
  const [transcribeOnly, ...enrichOnly] = outputs;
  expect(transcribeOnly!.output).not.toMatch(/enrichment/);
  for (const worker of enrichOnly) expect(worker.output).toMatch(/enrichment piece stored/);
});

it('an enrich worker stopped with SIGTERM hands its task back; the other finishes it', async () => {
  const tenantId = await ensureTenant(env.db, 'tenant-enrich-stack');
  chat.setDelay(400);
  const { enrichments } = await seedCompletedJob(env.db, tenantId, transcript(30), ['notes']);
  const id = enrichments[0]!.id;
  await waitFor(async () => ((await findEnrichmentById(env.db, id))?.pieces_done ?? 0) >= 2, {
    timeoutMs: 120_000,
    what: 'two pieces stored',
  });
  const [, first] = [...stack.services.entries()].filter(([name]) => name.startsWith('worker-'));
  expect(await first![1].stop(30_000)).toBe(0);
  chat.setDelay(50);
  const row = await waitFor(
    async () => {
      const current = await findEnrichmentById(env.db, id);
      return current && ['completed', 'failed', 'canceled'].includes(current.status) && current;
    },
    { timeoutMs: 180_000, what: 'notes to settle' },
  );
  expect(row).toMatchObject({ status: 'completed', attempts: 1 });
});
