/** A readiness check: resolves (or returns true) when the dependency is usable. */
export type ReadyCheck = () => Promise<unknown> | boolean;

export interface ReadinessReport {
  ok: boolean;
  /** Per check: `ok`, or why not (`timed out after 2000 ms`, the error's message...). */
  checks: Record<string, string>;
}

/**
 * Runs the checks concurrently, each bounded by `timeoutMs`: a dependency that hangs shows as
 * not ready within the bound instead of hanging the probe (and piling probes up).
 */
export async function runReadyChecks(
  checks: Record<string, ReadyCheck>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, await runOne(check, timeoutMs)]),
  );
  const results = Object.fromEntries(entries) as Record<string, string>;
  return { ok: Object.values(results).every((r) => r === 'ok'), checks: results };
}

async function runOne(check: ReadyCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
  });
  const run = (async () => {
    try {
      const result = await check();
      return result === false ? 'failed' : 'ok';
    } catch (error) {
      return error instanceof Error ? error.message || error.name : 'failed';
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
