export {
  TRANSITIONS,
  LIFECYCLE_EVENTS,
  INITIAL_STATE,
  nextState,
  sourcesOf,
  insertQueuedJob,
  createQueuedJobFromUpload,
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
  storeChunk,
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
  enqueueToken,
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
export {
  claimEnrichment,
  planEnrichment,
  fanOutEnrichment,
  takeEnrichmentPiece,
  heartbeatEnrichmentPiece,
  releaseEnrichmentPieces,
  storeEnrichmentPiece,
  listStoredPieces,
  takeCombineLease,
  completeEnrichment,
  failEnrichment,
  requeueEnrichment,
} from './enrichment-work.js';
export {
  applyProgress,
  estimateEtaS,
  estimateChunkedEtaS,
  STAGE_ORDER,
  MIN_EVENT_GAP_MS,
  type ProgressReport,
} from './progress.js';
export {
  queuePositions,
  announcePositions,
  estimateStart,
  type QueuePlace,
} from './queue-position.js';
export { claimNextWork, type ClaimedWork, type ClaimNextOptions } from './scheduler.js';
