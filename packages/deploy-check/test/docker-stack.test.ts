// Opt-in (TEST_DOCKER=1 and a reachable Docker engine): builds the images, starts the
// whole compose stack with two workers, and sends the JFK recording through it as a user
// would: presigned upload to MinIO from the host, job on the gateway, events from the
// notifier, transcript back. Skipped elsewhere: this machine has no Docker engine.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from '../src/index.js';
import { root } from './support.js';
import { waitFor } from '../../testkit/src/wait-for.js';

const enabled =
  process.env.TEST_DOCKER === '1' &&
  spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const project = `transcribe-e2e-${process.pid}`;
const envPath = join(root, '.env');

function compose(...args: string[]): string {
  return execFileSync('docker', ['compose', '-p', project, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 20 * 60_000,
  });
}

(enabled ? describe : describe.skip)('docker compose stack (TEST_DOCKER=1)', () => {
  let createdEnv = false;
  let env: Record<string, string>;

  beforeAll(async () => {
    // compose reads .env; use the operator's if there is one, else the committed example.
    if (!existsSync(envPath)) {
      copyFileSync(join(root, '.env.example'), envPath);
      createdEnv = true;
    }
    env = parseEnvFile(readFileSync(envPath, 'utf8')).values;
    compose('up', '--detach', '--build', '--scale', 'worker=2');
    const gateway = `http://localhost:${env.GATEWAY_PORT ?? '8080'}`;
    // Refused connections are expected while the stack starts.
    await waitFor(async () => (await fetch(`${gateway}/readyz`).catch(() => undefined))?.ok, {
      timeoutMs: 5 * 60_000,
      intervalMs: 2000,
      what: 'gateway /readyz',
    });
  }, 25 * 60_000);

  afterAll(() => {
    try {
      compose('down', '--volumes', '--remove-orphans');
    } finally {
      if (createdEnv) rmSync(envPath, { force: true });
    }
  }, 5 * 60_000);

  it(
    'runs two healthy workers',
    async () => {
      await waitFor(
        () => {
          let ps: string[];
          try {
            ps = compose('ps', 'worker', '--format', '{{.Health}}').trim().split('\n');
          } catch {
            return false; // compose itself can fail while containers restart
          }
          return ps.length === 2 && ps.every((h) => h === 'healthy');
        },
        { timeoutMs: 3 * 60_000, intervalMs: 2000, what: 'two healthy workers' },
      );
    },
    4 * 60_000,
  );

  it(
    'transcribes a recording uploaded through the gateway',
    async () => {
      const { createClient } = await import('@transcribe/client');
      const { audioFixture, JFK_REFERENCE, wordErrorRate } = await import('@transcribe/testkit');
      const client = createClient({
        baseUrl: `http://localhost:${env.GATEWAY_PORT ?? '8080'}`,
        apiKey: env.DEV_API_KEY ?? '',
      });
      const upload = await client.uploadFile(audioFixture('jfk.wav'));
      const job = await client.createJob({ uploadId: upload.uploadId });
      const last = await client.waitForJob(job.id);
      expect(last.type).toBe('completed');
      const text = await client.getTranscript(job.id, 'txt');
      // PocketSphinx gets about half the words of this clip right (README: WER ≈ 0.55).
      expect(wordErrorRate(JFK_REFERENCE, text)).toBeLessThan(0.8);
    },
    5 * 60_000,
  );
});
