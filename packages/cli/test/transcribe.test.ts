import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient } from '@transcribe/client';
import { ExitCode, runCli, runTranscribe, type CommandDeps, type Output } from '@transcribe/cli';
import { TranscriptJson } from '@transcribe/contracts';
import { API_KEY, startFakeApi, type FakeApi } from '../../client/test/support/fake-api.js';
import { audioFixture } from '../../testkit/src/fixtures.js';

const JFK = audioFixture('jfk.wav');
const MAIN = join(__dirname, '..', 'dist', 'main.js');

/** A writable that keeps what was written, optionally pretending to be a terminal. */
class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let fake: FakeApi;
let originalScript: FakeApi['script'];

beforeAll(async () => {
  fake = await startFakeApi();
  originalScript = fake.script;
});
afterAll(() => fake.close());
afterEach(() => {
  fake.script = originalScript;
});

function io(stderrIsTTY = false): { stdout: Capture; stderr: Capture } {
  return { stdout: new Capture(), stderr: new Capture(stderrIsTTY) };
}
function deps(out: { stdout: Output; stderr: Output }): CommandDeps {
  return { client: createClient({ baseUrl: fake.baseUrl, apiKey: API_KEY }), ...out };
}
const env = (): Record<string, string> => ({
  TRANSCRIBE_URL: fake.baseUrl,
  TRANSCRIBE_API_KEY: API_KEY,
});

describe('runTranscribe', () => {
  it('uploads, follows the job and prints the transcript; exit code 0', async () => {
    const out = io();
    const code = await runTranscribe({ file: JFK, format: 'txt', progress: true }, deps(out));
    expect(code).toBe(ExitCode.Ok);
    expect(out.stdout.text).toBe('And so my fellow Americans\n');
    // Not a terminal: plain lines, one per step.
    expect(out.stderr.text).toMatch(
      /^uploading jfk\.wav \(343\.8 KB\)\nuploaded\njob \S+ created\n/,
    );
    expect(out.stderr.text).toContain('normalizing 10%\ntranscribing 60%\ncompleted in 5.0 s\n');

    const uploaded = [...fake.uploads.values()].at(-1);
    expect(uploaded?.body.equals(await readFile(JFK))).toBe(true);
  });

  it('prints the JSON transcript with --format json', async () => {
    const out = io();
    const code = await runTranscribe({ file: JFK, format: 'json', progress: false }, deps(out));
    expect(code).toBe(ExitCode.Ok);
    const transcript = TranscriptJson.parse(JSON.parse(out.stdout.text));
    expect(transcript.text).toBe('And so my fellow Americans');
    expect(out.stderr.text).toBe('');
  });

  it('reports a failed job on stderr with its code; exit code 1', async () => {
    fake.script = [
      { type: 'processing', attempt: 1 },
      { type: 'failed', error: { code: 'invalid_media', message: 'not an audio file' } },
    ];
    const out = io();
    const code = await runTranscribe({ file: JFK, format: 'txt', progress: false }, deps(out));
    expect(code).toBe(ExitCode.JobFailed);
    expect(out.stdout.text).toBe('');
    expect(out.stderr.text).toMatch(/^job \S+ failed: invalid_media: not an audio file\n$/);
  });

  it('exits 1 for a canceled job', async () => {
    fake.script = [{ type: 'canceled' }];
    const out = io();
    const code = await runTranscribe({ file: JFK, format: 'txt', progress: false }, deps(out));
    expect(code).toBe(ExitCode.JobFailed);
    expect(out.stderr.text).toContain('was canceled');
  });

  it('draws progress bars when stderr is a terminal', async () => {
    const out = io(true);
    const code = await runTranscribe({ file: JFK, format: 'txt', progress: true }, deps(out));
    expect(code).toBe(ExitCode.Ok);
    expect(out.stderr.text).toContain('uploading  |');
    expect(out.stderr.text).toMatch(/processing \|.*\| 100% \| completed in 5\.0 s/);
    expect(out.stdout.text).toBe('And so my fellow Americans\n');
  });

  it('exits 3 with the API error when the API refuses', async () => {
    const out = io();
    const client = createClient({ baseUrl: fake.baseUrl, apiKey: 'wrong' });
    const code = await runTranscribe(
      { file: JFK, format: 'txt', progress: false },
      { client, stdout: out.stdout, stderr: out.stderr },
    );
    expect(code).toBe(ExitCode.Api);
    expect(out.stderr.text).toContain('unauthorized');
  });

  it('exits 130 and names the job when interrupted while waiting', async () => {
    const controller = new AbortController();
    fake.onSocket = () => controller.abort(new Error('interrupted'));
    try {
      const out = io();
      const code = await runTranscribe(
        { file: JFK, format: 'txt', progress: false },
        { ...deps(out), signal: controller.signal },
      );
      expect(code).toBe(ExitCode.Interrupted);
      expect(out.stderr.text).toMatch(/interrupted; job \S+ continues: `transcribe status /);
    } finally {
      fake.onSocket = undefined;
    }
  });
});

describe('runCli', () => {
  it('runs transcribe from argv and the environment', async () => {
    const out = io();
    const code = await runCli([JFK, '--no-progress', '-l', 'en', '-p', 'high'], {
      env: env(),
      ...out,
    });
    expect(code).toBe(ExitCode.Ok);
    expect(out.stdout.text).toBe('And so my fellow Americans\n');
  });

  it.each([
    ['no API key', [JFK], { TRANSCRIBE_URL: 'http://127.0.0.1:1' }, 'no API key'],
    ['a bad URL', [JFK, '--url', 'ftp://x', '--api-key', 'k'], {}, 'must be http(s)'],
    ['a bad format', [JFK, '--format', 'xml'], undefined, "'xml' is invalid"],
    ['a bad language', [JFK, '--language', 'English'], undefined, 'invalid --language'],
    ['a missing file', ['/nonexistent/a.wav'], undefined, 'file_error'],
    ['no arguments', [], undefined, "missing required argument 'files'"],
  ])('exits 2 for %s', async (_name, argv, environment, message) => {
    const out = io();
    const code = await runCli(argv, { env: environment ?? env(), ...out });
    expect(code).toBe(ExitCode.Usage);
    expect(out.stderr.text).toContain(message);
  });

  it('exits 3 when the API cannot be reached', async () => {
    const out = io();
    const code = await runCli([JFK, '--no-progress'], {
      env: { TRANSCRIBE_URL: 'http://127.0.0.1:1', TRANSCRIBE_API_KEY: API_KEY },
      ...out,
    });
    expect(code).toBe(ExitCode.Api);
    expect(out.stderr.text).toContain('network_error');
  });

  it('status prints a job, as text or JSON', async () => {
    const { job } = fake.addJob();
    const text = io();
    expect(await runCli(['status', job.id], { env: env(), ...text })).toBe(ExitCode.Ok);
    expect(text.stdout.text).toContain(`id         ${job.id}\nstatus     completed\n`);

    const json = io();
    expect(await runCli(['status', job.id, '--format', 'json'], { env: env(), ...json })).toBe(0);
    expect(JSON.parse(json.stdout.text)).toMatchObject({ id: job.id, status: 'completed' });

    const missing = io();
    const code = await runCli(['status', '0190a000-0000-7000-8000-00000000dead'], {
      env: env(),
      ...missing,
    });
    expect(code).toBe(ExitCode.Api);
    expect(missing.stderr.text).toContain('not_found');
  });

  it('get prints a transcript, and exits 3 while the job is not done', async () => {
    const done = fake.addJob().job;
    const out = io();
    expect(await runCli(['get', done.id], { env: env(), ...out })).toBe(ExitCode.Ok);
    expect(out.stdout.text).toBe('And so my fellow Americans\n');

    const running = fake.addJob([{ type: 'processing', attempt: 1 }]).job;
    const early = io();
    expect(await runCli(['get', running.id, '-f', 'json'], { env: env(), ...early })).toBe(
      ExitCode.Api,
    );
    expect(early.stderr.text).toContain('job_not_completed');
  });

  it('prints help with exit code 0', async () => {
    const out = io();
    expect(await runCli(['--help'], { env: {}, ...out })).toBe(ExitCode.Ok);
    expect(out.stdout.text).toContain('Usage: transcribe [options] [command] <files...>');
  });
});

describe('the transcribe binary', () => {
  it('answers --help without loading the SDK, ws, cli-progress or the database code', async () => {
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: build first (npx tsc -b packages/cli)`);
    const hook = join(__dirname, 'support', 'trace-imports.mjs');
    const child = spawn(process.execPath, ['--import', hook, MAIN, '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: transcribe');
    const loaded = stderr.split('\n').filter((l) => l.startsWith('import '));
    expect(loaded.some((l) => l.includes('/commander/'))).toBe(true);
    for (const heavy of [
      '/client/dist/',
      '/ws/',
      '/cli-progress/',
      '/db/dist/',
      '/kysely/',
      '/pg/',
    ]) {
      expect(loaded.filter((l) => l.includes(heavy))).toEqual([]);
    }
  });

  it('transcribes, writes the transcript to stdout and exits 0', async () => {
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: build first (npx tsc -b packages/cli)`);
    const child = spawn(process.execPath, [MAIN, JFK], {
      env: { ...process.env, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'And so my fellow Americans\n' });
    expect(stderr).toContain('completed');
  });
});
