export { repoRoot } from './repo.js';
export { parseEnvFile, type EnvFile } from './env-file.js';
export {
  composeSchemaValidator,
  durationSeconds,
  interpolate,
  readComposeFile,
  type ComposeFile,
  type ComposeService,
} from './compose.js';
export {
  effective,
  isIgnored,
  parseDockerfile,
  stageChain,
  type Dockerfile,
  type Instruction,
  type Stage,
} from './dockerfile.js';
export { findRenderer, render, type K8sObject, type Renderer, type Rendered } from './kustomize.js';
export { validateObject } from './k8s-models.js';
export { requiredKeys, schemaKeys } from './config-env.js';
