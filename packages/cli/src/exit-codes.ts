import { ApiError, ClientError } from '@transcribe/client';
import type { Output } from './output.js';

/** Process exit codes of `transcribe`; scripts rely on them, so they never change. */
export const ExitCode = {
  /** The job completed (or the command did what it was asked). */
  Ok: 0,
  /** The job failed or was canceled. */
  JobFailed: 1,
  /** Bad arguments or configuration: fix the command line or the environment. */
  Usage: 2,
  /** The API, the network or (operator commands) Postgres failed: retrying may help. */
  Api: 3,
  /** Interrupted by the user (128 + SIGINT). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown for bad arguments or configuration; becomes exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Prints what went wrong on stderr and picks the exit code for it. */
export function reportError(error: unknown, stderr: Output): ExitCode {
  if (error instanceof UsageError) {
    stderr.write(`error: ${error.message}\n`);
    return ExitCode.Usage;
  }
  if (error instanceof ApiError) {
    stderr.write(`error: ${error.code}: ${error.message} (HTTP ${error.status})\n`);
    return ExitCode.Api;
  }
  if (error instanceof Error && error.name === 'DatabaseError') {
    stderr.write(`error: ${error.message}\n`);
    return ExitCode.Api;
  }
  if (error instanceof ClientError) {
    stderr.write(`error: ${error.code}: ${error.message}\n`);
    return error.code === 'file_error' ? ExitCode.Usage : ExitCode.Api;
  }
  // A bug rather than a condition: keep the stack.
  stderr.write(
    `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return ExitCode.Api;
}
