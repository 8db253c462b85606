/** Process exit codes of `transcribe`; scripts rely on them, so they never change. */
export const ExitCode = {
  /** The job completed (or the command did what it was asked). */
  Ok: 0,
  /** The job failed or was canceled (or, for `jobs cancel|retry`, is in the wrong state). */
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

/**
 * The exit code of several outcomes (one per file): the worst, which is the highest, so a
 * script sees a failure even when most files went through.
 */
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  let worst: ExitCode = ExitCode.Ok;
  for (const code of codes) if (code > worst) worst = code;
  return worst;
}
