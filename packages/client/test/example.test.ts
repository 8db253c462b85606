// packages/client/examples/transcribe-file.ts, the README's example: it type-checks against
// the SDK's published types, and, compiled, transcribes a file end to end (upload, live
// events, every transcript format) against the local stand-in for the API.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { audioFixture } from '../../testkit/src/fixtures.js';
import { API_KEY, startFakeApi, type FakeApi } from './support/fake-api.js';

const ROOT = join(__dirname, '..', '..', '..');
const EXAMPLES = join(__dirname, '..', 'examples');
const JFK = audioFixture('jfk.wav');

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

let fake: FakeApi;
beforeAll(async () => {
  fake = await startFakeApi();
});
afterAll(() => fake.close());

it('type-checks, then uploads, follows the job and prints every format', async () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const compiled = await run(process.execPath, [tsc, '-p', EXAMPLES]);
  expect(compiled).toMatchObject({ code: 0, stdout: '' });

  const res = await run(process.execPath, [join(EXAMPLES, 'dist', 'transcribe-file.js'), JFK], {
    TRANSCRIBE_URL: fake.baseUrl,
    TRANSCRIBE_API_KEY: API_KEY,
  });
  expect(res.stderr).toMatch(/uploading 100%\njob \S+ is queued\n {2}#1 queued\n/);
  expect(res.stderr).toContain('#5 completed in 5000 ms');
  expect(res.stdout).toBe(
    [
      '--- txt',
      'And so my fellow Americans',
      '--- srt',
      '1',
      '00:00:00,000 --> 00:00:02,500',
      'And so my fellow Americans',
      '--- vtt',
      'WEBVTT',
      '',
      '00:00:00.000 --> 00:00:02.500',
      'And so my fellow Americans',
      '--- json',
      '1 segments, 11 s of audio, engine sphinx: And so my fellow Americans',
      '',
    ].join('\n'),
  );
  expect(res.code).toBe(0);
  expect(fake.jobRequests.at(-1)).toMatchObject({
    language: 'en',
    metadata: { source: 'examples/transcribe-file.ts' },
  });
});
