import type { TranscribeClient } from '@transcribe/client';
import type { Output } from './output.js';

/** What the API commands need: a client and where to write. */
export interface CommandDeps {
  client: TranscribeClient;
  stdout: Output;
  stderr: Output;
  /** Aborted on Ctrl-C: stop waiting (the job itself keeps running on the server). */
  signal?: AbortSignal;
}
