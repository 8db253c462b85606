export {
  TRANSITIONS,
  LIFECYCLE_EVENTS,
  INITIAL_STATE,
  nextState,
  sourcesOf,
  insertQueuedJob,
  claimAttempt,
  deferClaim,
  republishQueued,
  claimForProcessing,
  reportProgress,
  fanOutChunks,
  markCompleted,
  markFailed,
  markDeadLettered,
  requeueForRetry,
  requeueForHandover,
  requeueExpiredLease,
  chunkLanded,
  cancelJob,
  retryJob,
  type LifecycleEvent,
} from './lifecycle.js';
export {
  MAX_PRIORITY,
  jobsRoutingKey,
  parseJobsRoutingKey,
  deadLetterHeaders,
  enqueueTranscription,
  enqueueRetry,
  enqueueDeadLetter,
  enqueueChunks,
  enqueueEnrichment,
  type JobsRoute,
  type JobsRoutingKey,
  type DeadLetterReason,
  type DeadLetterHeaders,
} from './messages.js';
export { stitchChunks, type ChunkResult } from './transcript.js';
export { renameSpeakers, speakerName } from './speakers.js';
export { requeueChunkLater, admitAudio, type Admission } from './attempt-writes.js';
export {
  addEnrichments,
  requestEnrichment,
  cancelEnrichment,
  enrichmentRefOf,
  JOB_ENDED_CODE,
} from './enrichment-lifecycle.js';
