import { sql, type Insertable } from 'kysely';
import type { Db } from './connection.js';
import type { UploadRow, UploadsTable } from './schema.js';

export async function insertUpload(db: Db, upload: Insertable<UploadsTable>): Promise<UploadRow> {
  return db.insertInto('uploads').values(upload).returningAll().executeTakeFirstOrThrow();
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

/** Records S3's id of the multipart upload started for this row. */
export async function setUploadMultipartId(db: Db, id: string, multipartId: string): Promise<void> {
  await db.updateTable('uploads').set({ multipart_id: multipartId }).where('id', '=', id).execute();
}

/** A multipart upload was completed: the object exists and S3's upload id is spent. */
export async function markMultipartCompleted(
  db: Db,
  id: string,
  multipartId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('uploads')
    .set({ multipart_id: null })
    .where('id', '=', id)
    .where('multipart_id', '=', multipartId)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function deleteUpload(db: Db, id: string): Promise<UploadRow | undefined> {
  return db.deleteFrom('uploads').where('id', '=', id).returningAll().executeTakeFirst();
}

/**
 * Uploads never turned into a job whose URL expired more than `graceMs` ago, locked so that
 * several sweepers (one per gateway replica) share the work instead of repeating it.
 */
export async function lockExpiredUploads(
  trx: Db,
  graceMs: number,
  limit: number,
): Promise<UploadRow[]> {
  return trx
    .selectFrom('uploads')
    .selectAll()
    .where('status', '=', 'pending')
    .where('expires_at', '<', sql<Date>`now() - ${`${graceMs} milliseconds`}::interval`)
    .orderBy('expires_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}
