// SCHEDULER=fair (issue 17): a message on the jobs lane is a token for one unit of work,
// whichever it names. The unit is the next one in fair order between tenants, claimed
// in one transaction (packages/jobs scheduler.ts), then run by the same code as a unit
// named by its message (runClaimedJob, runClaimedChunk).
import { randomUUID } from 'node:crypto';
import type { ChunkMessage, JobsQueueMessage } from '@transcribe/contracts';
import { findJobById } from '@transcribe/db';
import { claimNextWork, enqueueToken } from '@transcribe/jobs';
import type { Logger } from '@transcribe/telemetry';
import { chunkObjectKey, runClaimedChunk, type ChunkHandlerDeps } from './chunk-handler.js';
import { retryDelayMs } from './retry-policy.js';
import { runClaimedJob, type RunJobDeps } from './run-job.js';
import type { Outcome } from './settle.js';

export async function runToken(
  deps: RunJobDeps,
  chunkDeps: (() => ChunkHandlerDeps) | undefined,
  message: JobsQueueMessage,
  log: Logger,
): Promise<Outcome> {
  if (message.type === 'chunk' && chunkDeps) await discardIfStale(chunkDeps(), message, log);
  const work = await claimNextWork(deps.db, {
    leaseMs: deps.leaseMs,
    chunkLeaseMs: deps.leaseMs,
    tenantMaxConcurrent: deps.tenantMaxConcurrent,
    chunks: chunkDeps !== undefined,
    holderId: randomUUID(),
  });
  switch (work.kind) {
    case 'job': {
      deps.relay.kick();
      return runClaimedJob(
        deps,
        work.job,
        deps.logger.child({ jobId: work.job.id, tenantId: work.job.tenant_id }),
      );
    }
    case 'chunk':
      return runClaimedChunk(
        chunkDeps!(),
        work,
        deps.logger.child({
          jobId: work.job.id,
          tenantId: work.job.tenant_id,
          chunk: work.chunk.index,
        }),
      );
    case 'blocked':
      // Work waits on a cap, a backoff or a lease: the token comes back for it later.
      // (A worker dying here leaves the message unacked: it is redelivered, still a token.)
      log.debug('no work may start now; token put back through the first delay queue');
      await enqueueToken(deps.db, message, { level: 1, delayMs: retryDelayMs(1, deps.retry) });
      deps.relay.kick();
      return 'ack';
    case 'idle':
      log.debug('no work waiting; spare token dropped');
      return 'ack';
  }
}

/**
 * A chunk message still owns its chunk's object, whichever unit it claims as a token: when
 * its job has moved on from the attempt that published it (canceled, finished, retried),
 * no token will ever run that chunk, so the object is deleted here, as SCHEDULER=fifo
 * does when the message finds its chunk gone.
 */
async function discardIfStale(deps: ChunkHandlerDeps, message: ChunkMessage, log: Logger) {
  const job = await findJobById(deps.db, message.jobId);
  if (job?.status === 'processing' && job.attempts === message.attempt) return;
  const key = chunkObjectKey(message, message.attempt, message.index);
  await deps.storage
    .delete(key)
    .catch((err: unknown) => log.warn({ err, key }, 'chunk delete failed'));
}
