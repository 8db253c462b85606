/** A message body as JSON, or undefined when it is not JSON (the caller's schema says no). */
export function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString());
  } catch {
    return undefined;
  }
}
