// `transcribe --enrich` and `transcribe get --enrichment` (issue 15): the flag checked with
// the contracts before anything is uploaded, the wait past the job's completed, where each
// enrichment is written or printed, and the exit codes — against the client's local
// stand-in for the API.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ExitCode, runCli } from '@transcribe/cli';
import { API_KEY, startFakeApi, type FakeApi } from '../../client/test/support/fake-api.js';
import { audioFixture } from '../../testkit/src/fixtures.js';
import { enrichmentOutputs, parseEnrichFlag } from '../src/enrichment-files.js';
import { outputPaths } from '../src/transcript-files.js';

const WAV = audioFixture('jfk.wav');

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let fake: FakeApi;
let dir: string;

beforeAll(async () => {
  fake = await startFakeApi();
  dir = await mkdtemp(join(tmpdir(), 'transcribe-enrich-'));
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => fake.enrichmentOutcomes.clear());

async function cli(argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const env = { TRANSCRIBE_URL: fake.baseUrl, TRANSCRIBE_API_KEY: API_KEY };
  const code = await runCli(argv, { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function outDir(name: string) {
  const path = join(dir, name);
  return { path, files: async () => (await readdir(path)).sort() };
}

describe('--enrich', () => {
  it.each([
    ['clean,poem', '"poem"'],
    ['summary,summary', 'once'],
    ['translate:xx_Y', 'language tag'],
    [',', 'at least one'],
  ])('refuses %s with exit 2 before uploading anything', async (value, says) => {
    const before = fake.jobRequests.length;
    const res = await cli(['--enrich', value, WAV]);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stderr).toContain('--enrich');
    expect(res.stderr).toContain(says);
    expect(fake.jobRequests.length).toBe(before);
  });

  it('names the known kinds when one is unknown', () => {
    expect(() => parseEnrichFlag('poem')).toThrow(/clean.*summary.*notes.*translate/);
  });

  it('sends the list with the job, waits for every enrichment and writes each beside the transcript', async () => {
    const out = await outDir('keys');
    const res = await cli(['--enrich', 'summary, translate:de,clean', '-o', out.path, WAV]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(fake.jobRequests.at(-1)?.enrich).toEqual(['summary', { translate: 'de' }, 'clean']);
    expect(await out.files()).toEqual([
      'jfk.clean.txt',
      'jfk.summary.md',
      'jfk.translate-de.txt',
      'jfk.txt',
    ]);
    expect(await readFile(join(out.path, 'jfk.summary.md'), 'utf8')).toBe('summary as md\n');
    expect(await readFile(join(out.path, 'jfk.translate-de.txt'), 'utf8')).toBe(
      'translate:de as txt\n',
    );
    // Progress lines for the enrichments, after the job's own.
    const lines = res.stderr.split('\n');
    expect(lines.indexOf('summary: completed in 1.5 s')).toBeGreaterThan(
      lines.findIndex((l) => l.startsWith('completed in')),
    );
    expect(lines).toContain('translate:de: 50% (1/2 pieces)');
  });

  it('saves timed kinds as subtitles with --format srt, summary and notes as markdown', async () => {
    const out = await outDir('srt');
    const res = await cli(['--enrich', 'notes,translate:pt-BR', '-f', 'srt', '-o', out.path, WAV]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(await out.files()).toEqual(['jfk.notes.md', 'jfk.srt', 'jfk.translate-pt-BR.srt']);
  });

  it('prints the enrichments after the transcript, each under a header, without --output-dir', async () => {
    const res = await cli(['--enrich', 'summary', '--no-progress', WAV]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stdout).toBe(
      `==> ${WAV} <==\nAnd so my fellow Americans\n\n==> ${WAV} [summary] <==\nsummary as md\n`,
    );
  });

  it('exits 1 for a failed enrichment, keeping the transcript and the others', async () => {
    fake.enrichmentOutcomes.set('clean', 'failed');
    const out = await outDir('failed');
    const res = await cli(['--enrich', 'clean,summary', '-o', out.path, WAV]);
    expect(res.code).toBe(ExitCode.JobFailed);
    expect(res.stderr).toContain('clean failed: engine_failed: the chat engine answered 500');
    expect(await out.files()).toEqual(['jfk.summary.md', 'jfk.txt']);
  });

  it('exits 1 for a failed job, whose enrichments were canceled with it', async () => {
    const script = fake.script;
    fake.script = [{ type: 'failed', error: { code: 'engine_failed', message: 'no' } }];
    try {
      const res = await cli(['--enrich', 'summary', WAV]);
      expect(res.code).toBe(ExitCode.JobFailed);
      expect(res.stderr).toContain('summary: canceled');
      expect(res.stdout).toBe('');
    } finally {
      fake.script = script;
    }
  });

  it('refuses --format md for transcripts', async () => {
    const res = await cli(['-f', 'md', WAV]);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stderr).toContain('--format md');
  });
});

describe('output paths', () => {
  it('puts each enrichment at <name>.<key with - for :>.<format>', () => {
    const [paths] = outputPaths(
      ['in/talk.mp3'],
      'out',
      'vtt',
      enrichmentOutputs(parseEnrichFlag('summary,translate:de,clean'), 'vtt'),
    );
    expect(paths).toEqual({
      transcript: join('out', 'talk.vtt'),
      enrichments: [
        { key: 'summary', format: 'md', path: join('out', 'talk.summary.md') },
        { key: 'translate:de', format: 'vtt', path: join('out', 'talk.translate-de.vtt') },
        { key: 'clean', format: 'vtt', path: join('out', 'talk.clean.vtt') },
      ],
    });
  });

  it('refuses an enrichment landing on another file’s transcript', () => {
    const enrich = enrichmentOutputs(parseEnrichFlag('summary'), 'json');
    expect(() => outputPaths(['talk.wav', 'talk.summary.wav'], 'out', 'json', enrich)).toThrow(
      /would both be written to/,
    );
  });
});

describe('status', () => {
  it('shows each enrichment with its status and error code', async () => {
    fake.enrichmentOutcomes.set('clean', 'failed');
    const { job } = fake.addJob(undefined, undefined, ['summary', 'clean']);
    const res = await cli(['status', job.id]);
    expect(res.stdout).toContain('enrich     summary completed, clean failed (engine_failed)\n');
  });
});

describe('get --enrichment', () => {
  it('prints one enrichment in its default format, or the one asked for', async () => {
    const { job } = fake.addJob(undefined, undefined, ['summary', 'translate:de']);
    expect((await cli(['get', job.id, '--enrichment', 'summary'])).stdout).toBe('summary as md\n');
    expect((await cli(['get', job.id, '--enrichment', 'translate:de'])).stdout).toBe(
      'translate:de as txt\n',
    );
    expect((await cli(['get', job.id, '--enrichment', 'translate:de', '-f', 'vtt'])).stdout).toBe(
      'translate:de as vtt\n',
    );
    const json = await cli(['get', job.id, '--enrichment', 'summary', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ key: 'summary', text: 'summary as json' });
  });

  it('exits 2 for a malformed key or subtitles of an untimed kind, 3 for one not completed', async () => {
    const { job } = fake.addJob(
      [{ type: 'failed', error: { code: 'engine_failed', message: 'no' } }],
      undefined,
      ['notes'],
    );
    expect((await cli(['get', job.id, '--enrichment', 'poem'])).code).toBe(ExitCode.Usage);
    expect((await cli(['get', job.id, '--enrichment', 'notes', '-f', 'srt'])).code).toBe(
      ExitCode.Usage,
    );
    const res = await cli(['get', job.id, '--enrichment', 'notes']);
    expect(res.code).toBe(ExitCode.Api);
    expect(res.stderr).toContain('enrichment_not_completed');
  });
});
