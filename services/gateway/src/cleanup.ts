import { deleteJob, deleteUpload, type Db, type JobRow, type UploadRow } from '@transcribe/db';
import type { Storage } from '@transcribe/storage';

// Objects go before rows: if a step fails, the row is still there to find the object by,
// and the next attempt (a repeated DELETE, the next sweep) finishes the work.

/**
 * A job's uploaded object, its row (events, chunks and the transcript go with it) and its
 * upload row. Intermediate files are the worker's to remove when the job ends.
 */
export async function purgeJob(db: Db, storage: Storage, job: JobRow): Promise<void> {
  await storage.delete(job.object_key);
  const run = async (trx: Db) => {
    await deleteJob(trx, job.id);
    if (job.upload_id) await deleteUpload(trx, job.upload_id);
  };
  await (db.isTransaction ? run(db) : db.transaction().execute(run));
}

/** An unused upload's object (or unfinished multipart upload) and its row. */
export async function discardUpload(db: Db, storage: Storage, upload: UploadRow): Promise<void> {
  if (upload.multipart_id) await storage.abortMultipart(upload.object_key, upload.multipart_id);
  await storage.delete(upload.object_key);
  await deleteUpload(db, upload.id);
}
