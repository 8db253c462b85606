import WebSocket from 'ws';
import { EventFrame, TERMINAL_EVENT_TYPES, type JobEvent } from '@transcribe/contracts';

export interface Collected {
  events: JobEvent[];
  /** The `links` of the last frame that carried them (the completed event's). */
  links?: Record<string, string>;
  /** Close code when the server closed the socket, undefined when we did (terminal event). */
  closeCode?: number;
  closeReason?: string;
}

/**
 * Follows a job's events WebSocket until a terminal event (then closes) or until the server
 * closes. Every frame is validated against the contract.
 */
export function collectEvents(
  url: string,
  options: {
    headers?: Record<string, string>;
    timeoutMs?: number;
    stopAfter?: number;
    /** Stop (and close) once an event satisfies this. */
    until?: (event: JobEvent) => boolean;
  } = {},
): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const events: JobEvent[] = [];
    let links: Record<string, string> | undefined;
    const socket = new WebSocket(url, { headers: options.headers });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(
        new Error(
          `no terminal event within ${options.timeoutMs ?? 120_000} ms; got ${JSON.stringify(events.map((e) => e.type))}`,
        ),
      );
    }, options.timeoutMs ?? 120_000);
    socket.on('message', (data) => {
      // A job that exists from start to end: only event frames (no discontinuity) are expected.
      const frame = EventFrame.parse(JSON.parse(String(data)));
      events.push(frame.event);
      if (frame.links) links = { ...frame.links };
      const done =
        TERMINAL_EVENT_TYPES.includes(frame.event.type) ||
        (options.stopAfter !== undefined && events.length >= options.stopAfter) ||
        (options.until?.(frame.event) ?? false);
      if (done) {
        clearTimeout(timer);
        socket.close(1000);
        resolve({ events, ...(links ? { links } : {}) });
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({
        events,
        closeCode: code,
        closeReason: reason.toString(),
        ...(links ? { links } : {}),
      });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
