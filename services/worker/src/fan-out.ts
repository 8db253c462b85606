import { createReadStream } from 'node:fs';
import type { Db, JobRow } from '@transcribe/db';
import { fanOutChunks } from '@transcribe/jobs';
import type { Storage } from '@transcribe/storage';
import type { Logger } from '@transcribe/telemetry';
import { chunkObjectKey } from './chunk-handler.js';
import type { FanOut } from './pipeline.js';

/**
 * The fan-out of one job attempt (undefined when fan-out is off); chunk objects uploaded
 * but never dispatched are removed by `discardUndispatched`.
 */
export function jobFanOut(
  db: Db,
  config: {
    minChunks: number;
    spreadChunks?: number;
    leaseMs: number;
    storage: Pick<Storage, 'upload' | 'delete'>;
  },
  job: JobRow,
): (FanOut & { discardUndispatched(log: Logger): Promise<void> }) | undefined {
  if (config.minChunks <= 0) return undefined;
  const key = (index: number) =>
    chunkObjectKey({ tenantId: job.tenant_id, jobId: job.id }, job.attempts, index);
  const uploaded: number[] = [];
  let dispatched = false;
  return {
    minChunks: config.minChunks,
    spreadChunks: config.spreadChunks,
    async upload(index, file) {
      uploaded.push(index);
      await config.storage.upload(key(index), createReadStream(file), 'audio/wav');
    },
    async dispatch(indexes) {
      dispatched = await fanOutChunks(db, job, { indexes, leaseMs: config.leaseMs });
      return dispatched;
    },
    async discardUndispatched(log) {
      if (dispatched) return;
      for (const index of uploaded) {
        await config.storage
          .delete(key(index))
          .catch((err: unknown) => log.warn({ err, index }, 'chunk delete failed'));
      }
    },
  };
}
