import {
  Kysely,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
/** A plain pg pool, for the few clients (the rate limiter) that take one instead of a Db. */
export type PgPool = pg.Pool;

const INT8_OID = 20;
/** `date` columns (tenant_usage_days.day) stay `YYYY-MM-DD` strings: no time zone to shift them. */
const DATE_OID = 1082;

/**
 * How long Postgres may take before we give up on it. A dependency that hangs must turn into
 * an error within these bounds, never into a request (or a pool) stuck for good.
 */
export interface PgTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. Default 5000. */
  connectTimeoutMs?: number;
  /** Server-side limit per statement (`statement_timeout`); 0 is none. Default 15000. */
  statementTimeoutMs?: number;
  /**
   * Client-side limit per query, for when the server cannot even cancel (network gone).
   * Keep it above `statementTimeoutMs`. A connection that hits it is discarded. 0 is none.
   * Default 20000.
   */
  queryTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout`: frees locks a dead client left behind. Default 60000. */
  idleInTransactionTimeoutMs?: number;
  /** TCP keep-alive start, so a silently dropped socket is noticed. Default 10000. */
  keepAliveDelayMs?: number;
}

export interface PoolOptions extends PgTimeouts {
  max?: number;
  /** Errors of connections (idle or checked out) that died; they are dropped, never thrown. */
  onError?: (error: Error) => void;
}

export const DEFAULT_PG_TIMEOUTS: Required<PgTimeouts> = {
  connectTimeoutMs: 5000,
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 20_000,
  idleInTransactionTimeoutMs: 60_000,
  keepAliveDelayMs: 10_000,
};

/** What the liveness probe reads from a pool: callers waiting, and whether anything moves. */
export interface PoolProbe {
  name: string;
  waiting(): number;
  /** Grows every time a connection is handed out, returned or dropped. */
  progress(): number;
}

const probes = new WeakMap<object, PoolProbe>();

/**
 * A pg pool that survives its server: every connection, idle or checked out, has an error
 * listener (pg-pool only guards idle ones; a checked-out client whose socket dies would
 * otherwise crash the process with an unhandled 'error' event), and every wait is bounded.
 */
export function createPool(
  connectionString: string,
  options: PoolOptions = {},
  name = 'postgres',
): PgPool {
  const t = { ...DEFAULT_PG_TIMEOUTS, ...definedOnly(options) };
  const onError = options.onError ?? (() => undefined);
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: t.connectTimeoutMs,
    statement_timeout: t.statementTimeoutMs || undefined,
    query_timeout: t.queryTimeoutMs || undefined,
    idle_in_transaction_session_timeout: t.idleInTransactionTimeoutMs || undefined,
    keepAlive: true,
    keepAliveInitialDelayMillis: t.keepAliveDelayMs,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : oid === DATE_OID
            ? (value: string) => value
            : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // Idle clients: the pool drops the client and the next query reconnects.
  pool.on('error', onError);
  // Checked-out clients: the query in flight rejects; this keeps the event from crashing us.
  pool.on('connect', (client) => client.on('error', onError));
  let progress = 0;
  const moved = () => void progress++;
  pool.on('acquire', moved);
  pool.on('release', moved);
  pool.on('remove', moved);
  probes.set(pool, { name, waiting: () => pool.waitingCount, progress: () => progress });
  return pool;
}

/** int8 columns (byte sizes, outbox ids) are parsed to numbers: all far below 2^53. */
export function createDb(connectionString: string, options: PoolOptions = {}): Db {
  const pool = createPool(connectionString, options);
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: discardingBroken(pool) }),
  });
  probes.set(db, probes.get(pool)!);
  return db;
}

/** The liveness probe of a pool made by createPool or a Db made by createDb. */
export function poolProbe(poolOrDb: object): PoolProbe | undefined {
  return probes.get(poolOrDb);
}

/**
 * Kysely releases a client without saying whether it broke. A client whose query timed out
 * on our side still waits for the server's answer, and every later query would queue behind
 * it: such a client (or one whose connection ended) is destroyed instead of reused.
 */
function discardingBroken(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const query = ((...args: Parameters<PostgresPoolClient['query']>) => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        if (result instanceof Promise) {
          result.catch((error: unknown) => {
            if (isConnectionFailure(error))
              broken = error instanceof Error ? error : new Error('broken');
          });
        }
        return result;
      }) as PostgresPoolClient['query'];
      return { query, release: () => client.release(broken ?? false) };
    },
    end: () => pool.end(),
  };
}

/** Errors after which the connection itself cannot be trusted (as opposed to a bad query). */
function isConnectionFailure(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^(08|57P0|ECONNRESET|EPIPE)/.test(code)) return true;
  return (
    typeof message === 'string' &&
    /Query read timeout|Connection terminated|not queryable/.test(message)
  );
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Runs pending migrations. Safe to call from several processes at once (kysely locks). */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Creates the database named in `url` when it does not exist, so `pnpm stack` and
 * `pnpm migrate` work on a fresh server. It connects to the target first and only falls
 * back to the server's `postgres` database when told the target is missing (3D000), so a
 * managed server that allows only the target database still works.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name) return;
  // Unheard, a dropped connection's 'error' event would end the process.
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: unknown }).code !== '3D000') throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({
    connectionString: admin.toString(),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } catch (error) {
    // Another process created it after our probe: 42P04 once it has committed, 23505
    // (pg_database's unique index) while both creations race.
    const code = (error as { code?: unknown }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await client.end();
  }
}
