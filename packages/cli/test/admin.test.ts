// `transcribe keys …` and `transcribe tenants limit` against a real Postgres: a created key
// authenticates, is stored only hashed, is never listed, and stops working once revoked.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { ExitCode, runCli } from '@transcribe/cli';
import { findTenantByName, findTenantIdByApiKey, hashApiKey } from '@transcribe/db';
import { createTestEnv, type TestEnv } from '../../testkit/src/index.js';

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

async function cli(...argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { env: { DATABASE_URL: env.databaseUrl }, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('transcribe keys', () => {
  it('creates a key that authenticates as its tenant and is stored only as a hash', async () => {
    const res = await cli('keys', 'create', '--tenant', 'acme', '--name', 'ci');
    expect(res.code).toBe(ExitCode.Ok);
    const key = res.stdout.trim();
    expect(key).toMatch(/^tk_[A-Za-z0-9_-]{43}$/);
    expect(res.stderr).toContain('not shown again');
    const tenant = await findTenantByName(env.db, 'acme');
    expect(await findTenantIdByApiKey(env.db, key)).toBe(tenant?.id);
    const stored = await env.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(stored.map((r) => r.key_hash)).toContain(hashApiKey(key));
  });

  it('lists keys with their prefix, never the key; filters by tenant; --json', async () => {
    const created = JSON.parse(
      (await cli('keys', 'create', '--tenant', 'beta', '--json')).stdout,
    ) as {
      id: string;
      key: string;
    };
    const listed = await cli('keys', 'list');
    expect(listed.code).toBe(ExitCode.Ok);
    expect(listed.stdout).toMatch(/^ID\s+TENANT\s+NAME\s+PREFIX/);
    expect(listed.stdout).toContain(created.id);
    expect(listed.stdout).toContain(`${created.key.slice(0, 8)}…`);
    expect(listed.stdout).not.toContain(created.key);
    const json = JSON.parse((await cli('keys', 'list', '--tenant', 'beta', '--json')).stdout) as {
      tenant: string;
    }[];
    expect(json.map((k) => k.tenant)).toEqual(['beta']);
  });

  it('revokes a key so it no longer authenticates; an unknown or malformed id is an error', async () => {
    const created = JSON.parse(
      (await cli('keys', 'create', '--tenant', 'gamma', '--json')).stdout,
    ) as {
      id: string;
      key: string;
    };
    expect((await cli('keys', 'revoke', created.id)).code).toBe(ExitCode.Ok);
    expect(await findTenantIdByApiKey(env.db, created.key)).toBeUndefined();
    const again = await cli('keys', 'revoke', created.id);
    expect(again.code).toBe(ExitCode.JobFailed);
    expect(again.stderr).toContain('no active key');
    expect((await cli('keys', 'revoke', 'nope')).code).toBe(ExitCode.Usage);
  });

  it('refuses a bad tenant name or a missing --tenant as usage errors', async () => {
    expect((await cli('keys', 'create', '--tenant', 'Bad Name')).code).toBe(ExitCode.Usage);
    expect((await cli('keys', 'create')).code).toBe(ExitCode.Usage);
  });
});

describe('when Postgres cannot be used', () => {
  async function cliAt(url: string, ...argv: string[]) {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(argv, { env: { DATABASE_URL: url }, stdout, stderr });
    return { code, stderr: stderr.text };
  }

  it('says so in one line, without the password, and exits 3', async () => {
    const res = await cliAt('postgres://admin:s3cret@127.0.0.1:1/nowhere', 'keys', 'list');
    expect(res.code).toBe(ExitCode.Api);
    expect(res.stderr).toMatch(
      /^error: cannot use Postgres at postgres:\/\/admin@127\.0\.0\.1:1\/nowhere \(DATABASE_URL\)/,
    );
    expect(res.stderr).not.toContain('s3cret');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('points at the migrations when the schema is missing', async () => {
    const empty = `t_empty_${randomBytes(5).toString('hex')}`;
    await sql.raw(`CREATE DATABASE ${empty}`).execute(env.db);
    try {
      const url = new URL(env.databaseUrl);
      url.pathname = `/${empty}`;
      const res = await cliAt(url.toString(), 'keys', 'list');
      expect(res.code).toBe(ExitCode.Api);
      expect(res.stderr).toContain('run the migrations');
    } finally {
      await sql.raw(`DROP DATABASE IF EXISTS ${empty} WITH (FORCE)`).execute(env.db);
    }
  });
});

describe('transcribe tenants limit', () => {
  it("sets and resets a tenant's cap on jobs processing at once", async () => {
    await cli('keys', 'create', '--tenant', 'delta');
    expect((await cli('tenants', 'limit', 'delta', '3')).code).toBe(ExitCode.Ok);
    expect((await findTenantByName(env.db, 'delta'))?.max_concurrent_jobs).toBe(3);
    expect((await cli('tenants', 'limit', 'delta', 'default')).code).toBe(ExitCode.Ok);
    expect((await findTenantByName(env.db, 'delta'))?.max_concurrent_jobs).toBeNull();
    expect((await cli('tenants', 'limit', 'delta', '0')).code).toBe(ExitCode.Usage);
    expect((await cli('tenants', 'limit', 'nobody', '2')).code).toBe(ExitCode.JobFailed);
  });
});
