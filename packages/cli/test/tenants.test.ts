// `transcribe tenants set|show` (issue 17) against a real Postgres: weights and limits are
// written as asked, "default" returns a limit to the deployment's setting, bad values are
// usage errors that write nothing, and `show` prints the limits in effect with current use.
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { ExitCode, runCli } from '@transcribe/cli';
import { ensureTenant, findTenantLimits, insertJob } from '@transcribe/db';
import { createTestEnv, jobFields, type TestEnv } from '../../testkit/src/index.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
}, 60_000);
afterAll(async () => {
  await env?.close();
});

async function cli(argv: string[], extraEnv: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, {
    env: { DATABASE_URL: env.databaseUrl, ...extraEnv },
    stdout,
    stderr,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function queueJob(tenantId: string, status: 'queued' | 'processing' = 'queued') {
  const job = await insertJob(env.db, jobFields(tenantId, { status: 'queued', stage: 'queued' }));
  if (status === 'processing') {
    await env.db
      .updateTable('jobs')
      .set({ status: 'processing', duration_s: 1800, started_at: sql<Date>`now()` })
      .where('id', '=', job.id)
      .execute();
  }
}

describe('transcribe tenants set', () => {
  it('sets weight and limits, and returns each to the default with "default"', async () => {
    const id = await ensureTenant(env.db, 'set-a');
    const res = await cli([
      'tenants',
      'set',
      'set-a',
      '--weight',
      '2.5',
      '--max-running',
      '3',
      '--max-queued',
      '100',
      '--audio-hours-per-day',
      '1.5',
    ]);
    expect(res.code).toBe(ExitCode.Ok);
    expect(res.stderr).toContain('tenant "set-a": weight 2.5');
    expect(res.stderr).toContain('audio per day: 1.5 h');
    expect(await findTenantLimits(env.db, id)).toMatchObject({
      weight: 2.5,
      max_concurrent_jobs: 3,
      max_queued_jobs: 100,
      max_audio_s_per_day: 5400,
    });

    // Only what is named changes.
    expect((await cli(['tenants', 'set', 'set-a', '--max-queued', 'default'])).code).toBe(
      ExitCode.Ok,
    );
    expect(await findTenantLimits(env.db, id)).toMatchObject({
      weight: 2.5,
      max_concurrent_jobs: 3,
      max_queued_jobs: null,
      max_audio_s_per_day: 5400,
    });
    await cli([
      'tenants',
      'set',
      'set-a',
      '--max-running',
      'default',
      '--audio-hours-per-day',
      '0',
    ]);
    expect(await findTenantLimits(env.db, id)).toMatchObject({
      max_concurrent_jobs: null,
      max_audio_s_per_day: 0,
    });

    // `tenants limit` stays: the same as --max-running.
    expect((await cli(['tenants', 'limit', 'set-a', '7'])).code).toBe(ExitCode.Ok);
    expect((await findTenantLimits(env.db, id))?.max_concurrent_jobs).toBe(7);
  });

  it('refuses bad values and a missing option as usage errors, writing nothing', async () => {
    const id = await ensureTenant(env.db, 'set-b');
    const before = await findTenantLimits(env.db, id);
    for (const [args, message] of [
      [['--weight', '0'], /invalid --weight "0"/],
      [['--weight', 'heavy'], /invalid --weight/],
      [['--max-running', '0'], /invalid --max-running "0": a positive integer or "default"/],
      [['--max-running', '2.5'], /invalid --max-running/],
      [['--max-queued', '-1'], /invalid --max-queued/],
      [['--audio-hours-per-day', 'lots'], /invalid --audio-hours-per-day/],
      // One bad option refuses the whole command, even with good ones beside it.
      [['--max-queued', '5', '--weight', '-2'], /invalid --weight/],
      [[], /nothing to set/],
    ] as const) {
      const res = await cli(['tenants', 'set', 'set-b', ...args]);
      expect(res.code).toBe(ExitCode.Usage);
      expect(res.stderr).toMatch(message);
    }
    expect(await findTenantLimits(env.db, id)).toEqual(before);
    expect((await cli(['tenants', 'set', 'Bad Name', '--weight', '2'])).code).toBe(ExitCode.Usage);
    const unknown = await cli(['tenants', 'set', 'nobody', '--weight', '2']);
    expect(unknown.code).toBe(ExitCode.JobFailed);
    expect(unknown.stderr).toContain('no tenant "nobody"');
  });
});

describe('transcribe tenants show', () => {
  it('prints the limits in effect, own or default, and the current use', async () => {
    const id = await ensureTenant(env.db, 'show-a');
    await ensureTenant(env.db, 'show-b');
    await cli(['tenants', 'set', 'show-a', '--weight', '3', '--max-queued', '20']);
    await queueJob(id);
    await queueJob(id);
    await queueJob(id, 'processing');

    const deployment = { TENANT_MAX_CONCURRENT_JOBS: '6', TENANT_MAX_AUDIO_S_PER_DAY: '7200' };
    const json = await cli(['tenants', 'show', 'show-a', '--json'], deployment);
    expect(json.code).toBe(ExitCode.Ok);
    expect(JSON.parse(json.stdout)).toEqual({
      tenant: 'show-a',
      id,
      weight: 3,
      limits: { maxRunning: 6, maxQueued: 20, audioSecondsPerDay: 7200 },
      own: { maxRunning: false, maxQueued: true, audioSecondsPerDay: false },
      queued: 2,
      running: 1,
      audioSecondsToday: 1800,
    });

    const table = await cli(['tenants', 'show'], deployment);
    expect(table.code).toBe(ExitCode.Ok);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TENANT\s+WEIGHT\s+MAX RUNNING\s+MAX QUEUED\s+AUDIO\/DAY\s+RUNNING/);
    const rowA = lines.find((l) => l.startsWith('show-a'))!;
    expect(rowA.split(/\s{2,}/)).toEqual([
      'show-a',
      '3',
      '6 (default)',
      '20',
      '2 h (default)',
      '1',
      '2',
      '0.5 h',
    ]);
    // The gateway's default cap on queued jobs is 10000 when unset.
    const rowB = lines.find((l) => l.startsWith('show-b'))!;
    expect(rowB).toContain('10000 (default)');

    const none = await cli(['tenants', 'show', 'show-b'], { TENANT_MAX_QUEUED_JOBS: '0' });
    expect(none.stdout).toContain('none (default)');
    const bad = await cli(['tenants', 'show'], { TENANT_MAX_QUEUED_JOBS: 'many' });
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.stderr).toContain('TENANT_MAX_QUEUED_JOBS="many"');
    expect((await cli(['tenants', 'show', 'nobody'])).code).toBe(ExitCode.JobFailed);
  });
});
