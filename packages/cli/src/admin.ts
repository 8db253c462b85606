import type { Command } from 'commander';
import { z } from 'zod';
import type * as DbRepo from '@transcribe/db';
import type { Db } from '@transcribe/db';
import { ExitCode, UsageError } from './exit-codes.js';
import { formatTable, type Output } from './output.js';
import {
  describeUpdate,
  formatHours,
  parseTenantSet,
  showLimit,
  showRow,
  type TenantSetOptions,
  type TenantShowRow,
} from './tenant-limits.js';

// Operator commands: they talk to Postgres (DATABASE_URL), not to the API, because they
// manage who may use the API at all. A key is printed once, at creation, and only hashed
// after that.

/** Loaded on first use: kysely and pg cost more to load than the rest of the CLI. */
type DbModule = typeof DbRepo;

export interface AdminIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Output;
  stderr: Output;
}

const TenantName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, . _ -');

/** Postgres could not be used; says which URL (without its password) and what to do. */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
}

async function withDb<T>(io: AdminIo, fn: (db: Db, repo: DbModule) => Promise<T>): Promise<T> {
  const repo = await import('@transcribe/db');
  const url = io.env.DATABASE_URL ?? repo.DEFAULT_DATABASE_URL;
  const db = repo.createDb(url, { max: 1 });
  try {
    return await fn(db, repo);
  } catch (error) {
    throw describeDbError(error, url);
  } finally {
    await db.destroy();
  }
}

function describeDbError(error: unknown, url: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  let where = url;
  try {
    const parsed = new URL(url);
    parsed.password = '';
    where = parsed.toString();
  } catch {
    // not a URL: shown as given
  }
  // 42P01: undefined table. Anything else with a code is a connection or server problem.
  const hint =
    code === '42P01'
      ? 'the database has no schema yet: run the migrations (pnpm migrate)'
      : `${(error as Error).message} (${code})`;
  return new DatabaseError(`cannot use Postgres at ${where} (DATABASE_URL): ${hint}`);
}

function tenantName(value: string): string {
  const parsed = TenantName.safeParse(value);
  if (!parsed.success)
    throw new UsageError(`invalid tenant "${value}": ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** `keys create|list|revoke` and `tenants limit|set|show` on the given program. */
export function addAdminCommands(
  program: Command,
  io: AdminIo,
  setExitCode: (code: ExitCode) => void,
): void {
  const keys = program.command('keys').description('manage API keys (operator; uses DATABASE_URL)');
  keys
    .command('create')
    .description('create an API key for a tenant (made if new); the key is shown once')
    .requiredOption('-t, --tenant <name>', 'tenant name')
    .option('-n, --name <label>', 'what the key is for', 'default')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; name: string; json?: boolean }) => {
      const tenant = tenantName(opts.tenant);
      const { key, ...created } = await withDb(io, async (db, repo) => {
        const key = repo.generateApiKey();
        const tenantId = await repo.ensureTenant(db, tenant);
        return {
          key,
          tenantId,
          ...(await repo.insertApiKey(db, { tenantId, name: opts.name, key })),
        };
      });
      io.stdout.write(
        opts.json
          ? `${JSON.stringify({ id: created.id, tenant, tenantId: created.tenantId, name: opts.name, key })}\n`
          : `${key}\n`,
      );
      if (!opts.json)
        io.stderr.write(
          `key ${created.id} for tenant "${tenant}": store it now, it is not shown again\n`,
        );
    });
  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('-t, --tenant <name>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const rows = await withDb(io, (db, repo) =>
        repo.listApiKeys(db, opts.tenant ? tenantName(opts.tenant) : undefined),
      );
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      io.stdout.write(
        formatTable([
          ['ID', 'TENANT', 'NAME', 'PREFIX', 'CREATED', 'REVOKED'],
          ...rows.map((r) => [
            r.id,
            r.tenant,
            r.name,
            `${r.prefix}…`,
            r.createdAt.toISOString(),
            r.revokedAt?.toISOString() ?? '-',
          ]),
        ]),
      );
    });
  keys
    .command('revoke')
    .description('revoke an API key by id (see `keys list`)')
    .argument('<id>')
    .action(async (id: string) => {
      if (!z.uuid().safeParse(id).success)
        throw new UsageError(`"${id}" is not a key id (a UUID from \`keys list\`)`);
      if (await withDb(io, (db, repo) => repo.revokeApiKey(db, id))) {
        io.stderr.write(`revoked ${id}\n`);
      } else {
        io.stderr.write(`error: no active key ${id}\n`);
        setExitCode(ExitCode.JobFailed);
      }
    });

  const tenants = program
    .command('tenants')
    .description('manage tenants (operator; uses DATABASE_URL)');
  tenants
    .command('limit')
    .description(
      'set a tenant\'s cap on jobs processing at once ("default" for the deployment\'s); same as `tenants set <tenant> --max-running`',
    )
    .argument('<tenant>')
    .argument('<max>', 'a positive number, or "default"')
    .action(async (name: string, max: string) => {
      const value = max === 'default' ? null : Number(max);
      if (value !== null && !(Number.isInteger(value) && value > 0)) {
        throw new UsageError(`invalid max "${max}": a positive integer or "default"`);
      }
      const found = await withDb(io, async (db, repo) => {
        const tenant = await repo.findTenantByName(db, tenantName(name));
        if (tenant) await repo.setTenantMaxConcurrentJobs(db, tenant.id, value);
        return tenant;
      });
      if (!found) {
        io.stderr.write(`error: no tenant "${name}"\n`);
        setExitCode(ExitCode.JobFailed);
        return;
      }
      io.stderr.write(
        `tenant "${name}": at most ${value ?? 'the default number of'} jobs processing at once\n`,
      );
    });

  tenants
    .command('set')
    .description(
      'set a tenant\'s weight and limits; "default" returns a limit to the deployment\'s setting',
    )
    .argument('<tenant>')
    .option('--weight <n>', 'share of the workers relative to other tenants (default 1)')
    .option('--max-running <n|default>', 'jobs processing at once')
    .option('--max-queued <n|default>', 'jobs queued at once (more are refused 429); 0: no limit')
    .option('--audio-hours-per-day <h|default>', 'hours of audio started per UTC day; 0: no limit')
    .action(async (name: string, opts: TenantSetOptions) => {
      const tenant = tenantName(name);
      const update = parseTenantSet(opts);
      const found = await withDb(io, async (db, repo) => {
        const row = await repo.findTenantByName(db, tenant);
        if (row) await repo.updateTenantLimits(db, row.id, update);
        return row;
      });
      if (!found) {
        io.stderr.write(`error: no tenant "${tenant}"\n`);
        setExitCode(ExitCode.JobFailed);
        return;
      }
      io.stderr.write(`${describeUpdate(tenant, update)}\n`);
    });
  tenants
    .command('show')
    .description(
      "the limits in effect (the tenant's own, or the deployment's from this environment) and current use",
    )
    .argument('[tenant]', 'one tenant; default: all')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const only = name === undefined ? undefined : tenantName(name);
      const rows = await withDb(io, async (db, repo) => {
        let defaults: ReturnType<typeof repo.tenantLimitDefaultsFromEnv>;
        try {
          defaults = repo.tenantLimitDefaultsFromEnv(io.env);
        } catch (error) {
          // A bad TENANT_MAX_* in the environment: fixed there, like a bad option.
          throw new UsageError((error as Error).message);
        }
        const shown: TenantShowRow[] = [];
        for (const row of await repo.listTenantLimits(db, only)) {
          const [counts, audio] = await Promise.all([
            repo.countTenantJobs(db, row.id),
            repo.tenantAudioToday(db, row.id),
          ]);
          shown.push(
            showRow(row, repo.effectiveTenantLimits(row, defaults), {
              ...counts,
              audioSecondsToday: audio.usedS,
            }),
          );
        }
        return shown;
      });
      if (only !== undefined && rows.length === 0) {
        io.stderr.write(`error: no tenant "${only}"\n`);
        setExitCode(ExitCode.JobFailed);
        return;
      }
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(only === undefined ? rows : rows[0])}\n`);
        return;
      }
      io.stdout.write(
        formatTable([
          [
            'TENANT',
            'WEIGHT',
            'MAX RUNNING',
            'MAX QUEUED',
            'AUDIO/DAY',
            'RUNNING',
            'QUEUED',
            'AUDIO TODAY',
          ],
          ...rows.map((r) => [
            r.tenant,
            String(r.weight),
            showLimit(r.limits.maxRunning, r.own.maxRunning),
            showLimit(r.limits.maxQueued, r.own.maxQueued),
            showLimit(r.limits.audioSecondsPerDay, r.own.audioSecondsPerDay, formatHours),
            String(r.running),
            String(r.queued),
            formatHours(r.audioSecondsToday),
          ]),
        ]),
      );
    });
}
