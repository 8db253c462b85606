/**
 * Postgres could not serve the query: connection refused, dropped or timed out, server
 * shutting down or out of connections, statement timeout. The caller may retry later; the
 * query itself was not at fault. (A constraint violation or bad SQL is not one of these.)
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed, not `instanceof Error`: network errors may come from another realm.
  if (!error || typeof error !== 'object') return false;
  const { code, message, errors } = error as {
    code?: unknown;
    message?: unknown;
    errors?: unknown;
  };
  if (Array.isArray(errors) && errors.some(isDatabaseUnavailable)) return true;
  if (typeof code === 'string') {
    // SQLSTATE 08 connection exception, 53300 too many connections, 57014 statement timeout,
    // 57P01-03 server shutting down / starting up.
    if (/^(08...|53300|57014|57P0[123])$/.test(code)) return true;
    if (
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|EAI_AGAIN)$/.test(
        code,
      )
    )
      return true;
  }
  return (
    typeof message === 'string' &&
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout|not queryable|connection timeout/i.test(
      message,
    )
  );
}
