// `transcribe jobs list|cancel|retry|delete` against the real gateway (Postgres, RabbitMQ,
// S3): what is printed, what happens to the job, and the exit codes.
import { Writable } from 'node:stream';
import { createClient, type TranscribeClient } from '@transcribe/client';
import { ExitCode, runCli } from '@transcribe/cli';
import { Job } from '@transcribe/contracts';
import {
  JFK,
  startGatewayHarness,
  type GatewayHarness,
} from '../../../services/gateway/test/support/harness.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let h: GatewayHarness;
let client: TranscribeClient;

beforeAll(async () => {
  h = await startGatewayHarness();
  client = createClient({ baseUrl: h.base, apiKey: h.keyA });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function cli(...argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const env = { TRANSCRIBE_URL: h.base, TRANSCRIBE_API_KEY: h.keyA };
  const code = await runCli(argv, { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function newJob(): Promise<string> {
  const upload = await client.uploadFile(JFK);
  return (await client.createJob({ uploadId: upload.uploadId })).id;
}

async function statusOf(id: string): Promise<string | undefined> {
  const row = await h.env.db
    .selectFrom('jobs')
    .select('status')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.status;
}

describe('jobs list', () => {
  it('prints a table, newest first; --limit, --status and --json', async () => {
    const [a, b] = [await newJob(), await newJob()];
    const all = await cli('jobs', 'list');
    expect(all.code).toBe(ExitCode.Ok);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+PROGRESS\s+FILE\s+SIZE\s+ENGINE\s+CREATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${b}\\s+queued\\s+0%\\s+jfk\\.wav\\s+343\\.8 KB\\s+sphinx`),
    );
    expect(lines[2]).toMatch(new RegExp(`^${a}\\s+queued`));

    const one = await cli('jobs', 'list', '--limit', '1');
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(one.stderr).toContain('more jobs');

    await client.cancelJob(a);
    const json = await cli('jobs', 'list', '--status', 'canceled,failed', '--json');
    expect(json.code).toBe(ExitCode.Ok);
    const listed = Job.array().parse(JSON.parse(json.stdout));
    expect(listed.map((j) => j.id)).toEqual([a]);

    const none = await cli('jobs', 'list', '-s', 'completed');
    expect({ code: none.code, stdout: none.stdout, stderr: none.stderr }).toEqual({
      code: ExitCode.Ok,
      stdout: '',
      stderr: 'no jobs\n',
    });
  });

  it.each([
    ['an unknown status', ['--status', 'done'], 'expected one or more of'],
    ['a limit of 0', ['--limit', '0'], 'expected a whole number'],
  ])('exits 2 for %s', async (_name, flags, message) => {
    const res = await cli('jobs', 'list', ...flags);
    expect(res.code).toBe(ExitCode.Usage);
    expect(res.stderr).toContain(message);
  });

  it('exits 3 with the API error for a wrong key', async () => {
    const stderr = new Capture();
    const code = await runCli(['jobs', 'list'], {
      env: { TRANSCRIBE_URL: h.base, TRANSCRIBE_API_KEY: 'tk_wrong' },
      stdout: new Capture(),
      stderr,
    });
    expect(code).toBe(ExitCode.Api);
    expect(stderr.text).toMatch(/^error: unauthorized: .* \(HTTP 401, request \S+\)\n$/);
  });
});

describe('jobs cancel, retry, delete', () => {
  it('cancels a queued job, retries it, and deletes it', async () => {
    const id = await newJob();
    const canceled = await cli('jobs', 'cancel', id);
    expect(canceled).toEqual({ code: ExitCode.Ok, stdout: '', stderr: `job ${id} is canceled\n` });
    expect(await statusOf(id)).toBe('canceled');

    const retried = await cli('jobs', 'retry', id, '--json');
    expect(retried.code).toBe(ExitCode.Ok);
    expect(Job.parse(JSON.parse(retried.stdout))).toMatchObject({ id, status: 'queued' });
    expect(await statusOf(id)).toBe('queued');

    const deleted = await cli('jobs', 'delete', id);
    expect(deleted).toEqual({ code: ExitCode.Ok, stdout: '', stderr: `deleted job ${id}\n` });
    expect(await statusOf(id)).toBeUndefined();
    expect((await cli('status', id)).code).toBe(ExitCode.Api);
  });

  it('exits 1 naming the state when the job cannot make that move', async () => {
    const id = await newJob();
    const res = await cli('jobs', 'retry', id);
    expect(res.code).toBe(ExitCode.JobFailed);
    expect(res.stderr).toMatch(/^error: invalid_job_state: .*queued \(HTTP 409, request \S+\)\n$/);
    expect(await statusOf(id)).toBe('queued');
  });

  it.each(['cancel', 'retry', 'delete'])(
    '%s exits 2 for something that is not a job id',
    async (cmd) => {
      const res = await cli('jobs', cmd, 'nope');
      expect(res.code).toBe(ExitCode.Usage);
      expect(res.stderr).toContain('is not a job id');
    },
  );
});

describe('languages (real gateway, sphinx with its en model)', () => {
  it('transcribe --language fr exits 2 with language_unsupported; status shows an auto job as en, engine-default', async () => {
    const refused = await cli(JFK, '--language', 'fr', '--no-progress');
    expect(refused.code).toBe(ExitCode.Usage);
    expect(refused.stderr).toContain('language_unsupported');
    expect(refused.stderr).toContain('sphinx');

    const upload = await client.uploadFile(JFK);
    const job = await client.createJob({ uploadId: upload.uploadId, language: 'auto' });
    expect(job).toMatchObject({ language: 'en', requestedLanguage: 'auto' });
    const status = await cli('status', job.id);
    expect(status.stdout).toContain('language   en (engine-default, asked auto)\n');
  });
});
