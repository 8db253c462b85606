export { runCli, clientFromOptions, DEFAULT_URL, type CliIo } from './cli.js';
export {
  runTranscribe,
  printTranscript,
  type TranscribeArgs,
  type CommandDeps,
} from './transcribe.js';
export { runStatus, runGet } from './status.js';
export { ExitCode, UsageError } from './exit-codes.js';
export type { Output } from './output.js';
