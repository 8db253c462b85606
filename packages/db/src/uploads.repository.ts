import type { Db } from './connection.js';
import type { UploadRow, UploadsTable } from './schema.js';
import type { Insertable } from 'kysely';

export async function insertUpload(db: Db, upload: Insertable<UploadsTable>): Promise<void> {
  await db.insertInto('uploads').values(upload).execute();
}

export async function findUpload(
  db: Db,
  tenantId: string,
  id: string,
): Promise<UploadRow | undefined> {
  return db
    .selectFrom('uploads')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** pending → used, once: a second job for the same upload finds nothing to update. */
export async function markUploadUsed(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('uploads')
    .set({ status: 'used' })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
