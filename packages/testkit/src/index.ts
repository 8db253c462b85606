export { startS3Server, type S3Server } from './s3-server.js';
export { startDependencies, type Dependencies } from './dependencies.js';
export { createTestEnv, type TestEnv } from './test-env.js';
export { startService, type ServiceProcess, type ServiceName } from './service-process.js';
export { startStack, type Stack, type StackOptions } from './stack.js';
export { freePort } from './ports.js';
export { repoRoot } from './repo.js';
export {
  wordErrorRate,
  normalizeWords,
  librivoxClips,
  fixturesDir,
  JFK_REFERENCE,
  LIBRIVOX_DIR,
} from './wer.js';
export { rawSphinxTranscript } from './raw-sphinx.js';
export { collectEvents, type Collected } from './ws-collect.js';
export {
  startOpenAICompatibleServer,
  type OpenAICompatibleServer,
  type OpenAIFault,
} from './openai-compatible-server.js';
export { startTcpCutProxy, type TcpCutProxy, type ProxyMode } from './tcp-cut-proxy.js';
export { startTcpRelay, type TcpRelay } from './tcp-relay.js';
