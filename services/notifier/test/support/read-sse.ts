/**
 * Reads an SSE response until `until` holds for the events so far (or the stream ends),
 * then aborts: its status, headers, the events (data parsed as JSON) and the comment count.
 */
export async function readSse(
  url: string,
  options: { headers?: Record<string, string>; until: (events: SseEvent[]) => boolean },
) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: options.headers, signal: controller.signal });
  const events: SseEvent[] = [];
  let comments = 0;
  if (res.status !== 200) return { status: res.status, body: await res.json(), events, comments };
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  while (!options.until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) {
        comments++;
        continue;
      }
      const fields = Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      );
      events.push({ id: fields.id, type: fields.event!, data: JSON.parse(fields.data!) });
    }
  }
  controller.abort();
  return { status: res.status, headers: res.headers, events, comments };
}

export interface SseEvent {
  id?: string;
  type: string;
  data: unknown;
}
