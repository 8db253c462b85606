export { startS3Server, type S3Server } from './s3-server.js';
export { startDependencies, type Dependencies } from './dependencies.js';
export { createTestEnv, type TestEnv } from './test-env.js';
export {
  jobFields,
  seedTenant,
  startTestRelay,
  type SeededTenant,
  type TestRelay,
} from './seed.js';
export { startService, type ServiceProcess, type ServiceName } from './service-process.js';
export { startStack, type Stack, type StackOptions } from './stack.js';
export {
  createSupervisor,
  type Supervisor,
  type SupervisorEvent,
  type SupervisedSpec,
} from './supervisor.js';
export { freePort } from './ports.js';
export { repoRoot } from './repo.js';
export {
  wordErrorRate,
  normalizeWords,
  librivoxClips,
  JFK_REFERENCE,
  LIBRIVOX_DIR,
} from './wer.js';
export { fixturesDir, audioFixture, whisperTestModel, type AudioFixture } from './fixtures.js';
export { waitFor, sleep, DEFAULT_WAIT_TIMEOUT_MS, type WaitOptions } from './wait-for.js';
export { rawSphinxTranscript } from './raw-sphinx.js';
export { collectEvents, type Collected } from './ws-collect.js';
export {
  startOpenAICompatibleServer,
  SPEAKER_TURN_PAUSE_S,
  type OpenAICompatibleServer,
  type OpenAIFault,
} from './openai-compatible-server.js';
export {
  startFaultProxy,
  type FaultProxy,
  type FaultMode,
  type FaultProxyStats,
} from './fault-proxy.js';
export {
  createChunkRunProbe,
  summarizeRuns,
  type ChunkRun,
  type ChunkRunProbe,
} from './chunk-run-probe.js';
export { createFaultAudio, type FaultAudio } from './fault-audio.js';
export { createFaultClient, type FaultClient, type SubmitOutcome } from './fault-client.js';
export { auditJobs, storedEvents, waitSettled, type JobAudit } from './fault-audit.js';
export {
  startFaultStack,
  type FaultStack,
  type Incident,
  type ServiceLogLine,
} from './fault-stack.js';
export {
  startFaultWorld,
  faultSettingsFromEnv,
  FAULT_WORKER_ENV,
  type FaultSettings,
  type FaultWorld,
} from './fault-world.js';
export { startRun, findLog, type FaultRun } from './fault-run.js';
export {
  formatTable,
  ruleBreaks,
  readResults,
  appendResult,
  type ScenarioResult,
} from './fault-report.js';
export { followResuming, streamMismatch, type ResumedStream } from './ws-resume.js';
export {
  startChatServer,
  recogniseTask,
  type ChatServer,
  type ChatFault,
  type ChatRequestRecord,
} from './chat-server.js';
export { submitRecording } from './submit-recording.js';
