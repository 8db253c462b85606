// The load generator of the gateway and uploads suites (issue 18), run in a forked process so
// it never shares an event loop with a server it measures. The same code drives ours and the
// baseline: plain node:http over keep-alive sockets, `concurrency` requests in flight.
//   { kind: 'requests' }: the given requests, each sent once, in order, by `concurrency` lanes.
//   { kind: 'flows' }: each virtual user's steps in sequence (presign → PUT → create job, or a
//   bare PUT), all users at once; a step's JSON answer may fill the next step's URL/headers.
import http from 'node:http';

export interface RequestSpec {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Base64 of a binary body (the PUT of a file), sent instead of `body`. */
  bodyBase64?: string;
}

/** One step of a flow; `fromPrevious` takes the URL and headers from the previous answer. */
export interface FlowStep extends Partial<RequestSpec> {
  fromPrevious?: 'put-upload';
  /** Replaces `{uploadId}` in `body` with the id of the flow's presign answer. */
  useUploadId?: boolean;
}

export type LoadCommand =
  | { kind: 'requests'; requests: RequestSpec[]; concurrency: number; timeoutMs: number }
  | { kind: 'flows'; flows: FlowStep[][]; bodies: Record<string, string>; timeoutMs: number };

export interface LoadResult {
  /** Latency of each successful request (or flow), ms. */
  latenciesMs: number[];
  ok: number;
  failed: number;
  /** Status → count of the failures (`error` for network errors and timeouts). */
  failures: Record<string, number>;
  firstFailure?: string;
  elapsedMs: number;
  /** Flows only: each step's latencies (ms) over the successful flows, by step index. */
  stepLatenciesMs?: number[][];
}

interface Answer {
  status: number;
  body: string;
}

function send(
  agent: http.Agent,
  spec: RequestSpec,
  payload: Buffer | undefined,
  timeoutMs: number,
) {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(spec.url);
    const req = http.request(
      {
        agent,
        method: spec.method,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        headers: {
          ...spec.headers,
          ...(payload ? { 'content-length': String(payload.length) } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const payloadOf = (spec: RequestSpec, bodies: Record<string, string> = {}) =>
  spec.bodyBase64 !== undefined
    ? Buffer.from(bodies[spec.bodyBase64] ?? spec.bodyBase64, 'base64')
    : spec.body !== undefined
      ? Buffer.from(spec.body)
      : undefined;

async function runRequests(cmd: Extract<LoadCommand, { kind: 'requests' }>): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cmd.concurrency });
  const result: LoadResult = { latenciesMs: [], ok: 0, failed: 0, failures: {}, elapsedMs: 0 };
  // Bodies are encoded before the clock starts: the client's own work stays out of it.
  const payloads = cmd.requests.map((r) => payloadOf(r));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: cmd.concurrency }, async () => {
      while (next < cmd.requests.length) {
        const i = next++;
        const started = performance.now();
        try {
          const answer = await send(agent, cmd.requests[i]!, payloads[i], cmd.timeoutMs);
          if (answer.status >= 200 && answer.status < 300) {
            result.ok++;
            result.latenciesMs.push(performance.now() - started);
          } else fail(result, String(answer.status), answer.body);
        } catch (error) {
          fail(result, 'error', String(error));
        }
      }
    }),
  );
  result.elapsedMs = performance.now() - t0;
  agent.destroy();
  return result;
}

function fail(result: LoadResult, key: string, detail: string) {
  result.failed++;
  result.failures[key] = (result.failures[key] ?? 0) + 1;
  result.firstFailure ??= `${key}: ${detail.slice(0, 300)}`;
}

async function runFlows(cmd: Extract<LoadCommand, { kind: 'flows' }>): Promise<LoadResult> {
  // Every virtual user at once: as many sockets as users, to the gateway and to S3.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const result: LoadResult = { latenciesMs: [], ok: 0, failed: 0, failures: {}, elapsedMs: 0 };
  const stepLatenciesMs: number[][] = [];
  const t0 = performance.now();
  await Promise.all(
    cmd.flows.map(async (steps) => {
      const started = performance.now();
      const stepMs: number[] = [];
      let previous: { url?: string; headers?: Record<string, string>; uploadId?: string } = {};
      let uploadId: string | undefined;
      for (const [n, step] of steps.entries()) {
        const spec: RequestSpec = {
          method: step.method ?? 'GET',
          url: step.fromPrevious ? previous.url! : step.url!,
          headers: { ...step.headers, ...(step.fromPrevious ? previous.headers : {}) },
          ...(step.body !== undefined
            ? {
                body: step.useUploadId
                  ? step.body.replace('{uploadId}', uploadId ?? '')
                  : step.body,
              }
            : {}),
          ...(step.bodyBase64 !== undefined ? { bodyBase64: step.bodyBase64 } : {}),
        };
        let answer: Answer;
        const stepStarted = performance.now();
        try {
          answer = await send(agent, spec, payloadOf(spec, cmd.bodies), cmd.timeoutMs);
          stepMs.push(performance.now() - stepStarted);
        } catch (error) {
          return fail(result, `step ${n + 1} error`, String(error));
        }
        if (answer.status < 200 || answer.status >= 300) {
          return fail(result, `step ${n + 1} ${answer.status}`, answer.body);
        }
        if (answer.body.startsWith('{')) {
          previous = JSON.parse(answer.body) as typeof previous;
          uploadId ??= previous.uploadId;
        }
      }
      result.ok++;
      result.latenciesMs.push(performance.now() - started);
      stepMs.forEach((ms, i) => (stepLatenciesMs[i] ??= []).push(ms));
    }),
  );
  result.elapsedMs = performance.now() - t0;
  result.stepLatenciesMs = stepLatenciesMs;
  agent.destroy();
  return result;
}

process.on('message', (cmd: LoadCommand) => {
  const run = cmd.kind === 'requests' ? runRequests(cmd) : runFlows(cmd);
  run.then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
