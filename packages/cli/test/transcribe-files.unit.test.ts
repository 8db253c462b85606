// `transcribe a b c`: several files at once, every job option, --output-dir, and the exit
// code of the worst outcome — against the client's local stand-in for the API.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ExitCode, runCli } from '@transcribe/cli';
import { TranscriptJson } from '@transcribe/contracts';
import { API_KEY, startFakeApi, type FakeApi } from '../../client/test/support/fake-api.js';
import { audioFixture } from '../../testkit/src/fixtures.js';

const WAV = audioFixture('jfk.wav');
const MP3 = audioFixture('jfk.mp3');

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
let dir: string;

beforeAll(async () => {
  fake = await startFakeApi();
  originalScript = fake.script;
  dir = await mkdtemp(join(tmpdir(), 'transcribe-cli-'));
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  fake.script = originalScript;
});

async function cli(argv: string[], tty = false) {
  const stdout = new Capture();
  const stderr = new Capture(tty);
  const env = { TRANSCRIBE_URL: fake.baseUrl, TRANSCRIBE_API_KEY: API_KEY };
  const code = await runCli(argv, { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('transcribe with several files', () => {
  it('makes one job per file and prints each transcript under a header, in order', async () => {
    const before = fake.jobRequests.length;
    const res = await cli([WAV, MP3]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stdout).toBe(
      `==> ${WAV} <==\nAnd so my fellow Americans\n\n==> ${MP3} <==\nAnd so my fellow Americans\n`,
    );
    expect(fake.jobRequests.length - before).toBe(2);
    // Not a terminal: one line per step, each labelled with its file.
    expect(res.stderr).toContain(`${WAV}: uploading (343.8 KB)\n`);
    expect(res.stderr).toContain(`${MP3}: completed in 5.0 s\n`);
  });

  it('draws one labelled bar per file on a terminal', async () => {
    const res = await cli([WAV, MP3], true);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stderr).toMatch(/jfk\.wav processing \|.*\| 100% \| completed in 5\.0 s/);
    expect(res.stderr).toMatch(/jfk\.mp3 processing \|.*\| 100% \| completed in 5\.0 s/);
    expect(res.stdout).toContain(`==> ${MP3} <==\n`);
  });

  it('exits with the worst outcome: a missing file is 2, the others still transcribed', async () => {
    const res = await cli([WAV, '/nonexistent/a.wav', '--no-progress']);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stdout).toBe(`==> ${WAV} <==\nAnd so my fellow Americans\n`);
    expect(res.stderr).toMatch(/^\/nonexistent\/a\.wav: error: file_error: /m);
  });

  it('exits 1 when the jobs fail, naming each', async () => {
    fake.script = [{ type: 'failed', error: { code: 'invalid_media', message: 'not audio' } }];
    const res = await cli([WAV, MP3, '--no-progress']);
    expect(res.code).toBe(ExitCode.JobFailed);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(
      new RegExp(`^${WAV}: job \\S+ failed: invalid_media: not audio$`, 'm'),
    );
    expect(res.stderr).toMatch(
      new RegExp(`^${MP3}: job \\S+ failed: invalid_media: not audio$`, 'm'),
    );
  });
});

describe('job options', () => {
  it('sends engine, model, language, priority, webhook and metadata with every job', async () => {
    const before = fake.jobRequests.length;
    const res = await cli([
      WAV,
      MP3,
      '--no-progress',
      '--engine',
      'openai',
      '--model',
      'whisper-1',
      '-l',
      'en',
      '-p',
      'high',
      '--webhook',
      'https://hooks.example.com/t?x=1',
      '--metadata',
      'customer=acme',
      '--metadata',
      'query=a=b',
    ]);
    expect(res.code).toBe(ExitCode.Ok);
    const sent = fake.jobRequests.slice(before);
    expect(sent).toHaveLength(2);
    for (const body of sent) {
      expect(body).toEqual({
        uploadId: expect.any(String),
        engine: 'openai',
        model: 'whisper-1',
        language: 'en',
        priority: 'high',
        webhookUrl: 'https://hooks.example.com/t?x=1',
        metadata: { customer: 'acme', query: 'a=b' },
      });
    }
  });

  it.each([
    ['an unknown engine', ['--engine', 'nope'], "'nope' is invalid"],
    ['a model with ..', ['--model', 'a/../b'], 'invalid --model'],
    ['a webhook that is not http(s)', ['--webhook', 'ftp://x.example'], 'invalid --webhook'],
    ['metadata without =', ['--metadata', 'novalue'], 'expected key=value'],
    ['metadata with an empty key', ['--metadata', '=v'], 'expected key=value'],
  ])('refuses %s before uploading anything (exit 2)', async (_name, flags, message) => {
    const before = fake.uploads.size;
    const res = await cli([WAV, ...flags]);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stderr).toContain(message);
    expect(fake.uploads.size).toBe(before);
  });
});

describe('--output-dir', () => {
  it('writes <name>.<format> per file instead of printing', async () => {
    const out = join(dir, 'out', 'nested');
    const res = await cli([WAV, '-f', 'json', '--output-dir', out, '--no-progress']);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`wrote ${join(out, 'jfk.json')}\n`);
    const saved = TranscriptJson.parse(JSON.parse(await readFile(join(out, 'jfk.json'), 'utf8')));
    expect(saved.text).toBe('And so my fellow Americans');
  });

  it('refuses two files that would land on one path, before uploading (exit 2)', async () => {
    const out = join(dir, 'clash');
    const before = fake.uploads.size;
    const res = await cli([WAV, MP3, '--output-dir', out]);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stderr).toContain('would both be written to');
    expect(fake.uploads.size).toBe(before);
    await expect(readdir(out)).rejects.toThrow();
  });
});
