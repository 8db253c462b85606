import { ensureTenant, insertApiKey, type Db } from '@transcribe/db';

/** Makes DEV_API_KEY a key of the `dev` tenant, so a local stack works without a setup step. */
export async function ensureDevApiKey(db: Db, key: string): Promise<string> {
  const tenantId = await ensureTenant(db, 'dev');
  await insertApiKey(db, { tenantId, name: 'DEV_API_KEY', key });
  return tenantId;
}
