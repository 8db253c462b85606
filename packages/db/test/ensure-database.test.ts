// ensureDatabase on a real server: `pnpm migrate` and `pnpm stack` create the database they
// are pointed at, and several starting at once do not trip over each other.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startDependencies, type Dependencies } from '../../testkit/src/index.js';
import { ensureDatabase } from '../src/index.js';

let deps: Dependencies;
const created: string[] = [];

function urlFor(name: string): string {
  const u = new URL(deps.databaseUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function exists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: deps.databaseUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  deps = await startDependencies();
});

afterAll(async () => {
  const client = new pg.Client({ connectionString: deps.databaseUrl });
  await client.connect();
  for (const name of created) await client.query(`DROP DATABASE IF EXISTS "${name}"`);
  await client.end();
  await deps.stop();
});

test('creates a missing database, once, even when called concurrently', async () => {
  const name = `ensure_${randomBytes(4).toString('hex')}`;
  created.push(name);
  expect(await exists(name)).toBe(false);
  await Promise.all([1, 2, 3].map(() => ensureDatabase(urlFor(name))));
  expect(await exists(name)).toBe(true);
  await ensureDatabase(urlFor(name));
  expect(await exists(name)).toBe(true);
});

test('passes other connection errors through', async () => {
  await expect(ensureDatabase('postgres://nobody@127.0.0.1:1/x')).rejects.toThrow();
});
