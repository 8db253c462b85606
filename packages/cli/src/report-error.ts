import { ApiError, ClientError } from '@transcribe/client';
import { ExitCode, UsageError } from './exit-codes.js';
import type { Output } from './output.js';

// Apart from exit-codes.ts because it needs the client's error classes, and loading the
// client (and ws) just to print `--help` is what this CLI avoids.

const USAGE_CODES = new Set<string>(['language_unsupported', 'enrichment_unavailable']);

/** What an error means for the user: the exit code and one line (no `error: ` prefix). */
export function describeError(error: unknown): { code: ExitCode; message: string } {
  if (error instanceof UsageError) return { code: ExitCode.Usage, message: error.message };
  if (error instanceof ApiError) {
    // A language this deployment cannot transcribe, or enrichments it cannot make (no chat
    // engine), is fixed on the command line or in the deployment, not by a retry.
    const code = USAGE_CODES.has(error.code) ? ExitCode.Usage : ExitCode.Api;
    const request = error.requestId ? `, request ${error.requestId}` : '';
    return {
      code,
      message: `${error.code}: ${error.message} (HTTP ${error.status}${request})`,
    };
  }
  if (error instanceof Error && error.name === 'DatabaseError') {
    return { code: ExitCode.Api, message: error.message };
  }
  if (error instanceof ClientError) {
    return {
      code: error.code === 'file_error' ? ExitCode.Usage : ExitCode.Api,
      message: `${error.code}: ${error.message}`,
    };
  }
  // A bug rather than a condition: keep the stack.
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { code: ExitCode.Api, message };
}

/** Prints what went wrong on stderr and picks the exit code for it. */
export function reportError(error: unknown, stderr: Output): ExitCode {
  const { code, message } = describeError(error);
  stderr.write(`error: ${message}\n`);
  return code;
}
