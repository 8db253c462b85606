// `pnpm stack` behaves like compose or Kubernetes would: a service that dies comes back
// (and the terminal says so), a failed start leaves nothing running, and not even a
// SIGKILLed `pnpm stack` leaves a worker consuming the queue.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  createTestEnv,
  freePort,
  repoRoot,
  startStack,
  type Stack,
  type SupervisorEvent,
  type TestEnv,
  waitFor,
} from '../src/index.js';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
}, 120_000);

afterAll(async () => {
  await env?.close();
});

/** Pids of live processes whose environment holds `STACK_TEST_MARK=<mark>`. */
function processesMarked(mark: string): number[] {
  const needle = `STACK_TEST_MARK=${mark}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

describe('a supervised stack', () => {
  let stack: Stack;
  const events: SupervisorEvent[] = [];

  beforeAll(async () => {
    stack = await startStack({
      env: env.env,
      restart: true,
      onEvent: (e) => events.push(e),
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('restarts a service that was SIGKILLed, and reports the exit and the restart', async () => {
    const before = stack.services.get('worker-1')!;
    await before.kill();
    await waitFor(() => events.some((e) => e.type === 'restarted'), {
      what: 'the restart',
      timeoutMs: 180_000,
    });
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['exited', 'worker-1'],
      ['restarted', 'worker-1'],
    ]);
    expect(events[0]).toMatchObject({ planned: false, signal: 'SIGKILL' });
    const after = stack.services.get('worker-1')!;
    expect(after.child.pid).not.toBe(before.child.pid);
    expect(after.child.exitCode).toBeNull();
  }, 240_000);

  it('keeps trying, with growing waits, while a service cannot start, and says why', async () => {
    events.length = 0;
    await stack.services.get('gateway')!.kill();
    // Its port taken by someone else, the gateway fails each start until it is free again.
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) =>
      blocker.listen(Number(new URL(stack.gatewayUrl).port), '127.0.0.1', resolve),
    );
    try {
      await waitFor(() => failures().length >= 2, {
        what: 'two failed restarts',
        timeoutMs: 180_000,
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const [first, second] = failures();
    expect(second!.retryInMs).toBeGreaterThan(first!.retryInMs);
    expect(first!.error).toMatch(/EADDRINUSE/);
    await waitFor(() => events.some((e) => e.type === 'restarted'), {
      what: 'the restart',
      timeoutMs: 180_000,
    });
    expect((await fetch(`${stack.gatewayUrl}/readyz`)).status).toBe(200);

    function failures() {
      return events.flatMap((e) => (e.type === 'start-failed' ? [e] : []));
    }
  }, 240_000);
});

it('leaves nothing running when a service fails to start', async () => {
  const mark = randomUUID();
  process.env.STACK_TEST_MARK = mark;
  try {
    // The worker refuses this config at start; the gateway and notifier start fine.
    const failed = startStack({ env: { ...env.env, WORKER_CONCURRENCY: 'lots' } });
    await expect(failed).rejects.toThrow(
      /worker exited with 2 before it was ready.*\n[^]*WORKER_CONCURRENCY/,
    );
  } finally {
    delete process.env.STACK_TEST_MARK;
  }
  expect(processesMarked(mark)).toEqual([]);
}, 240_000);

it('leaves no service behind when `pnpm stack` itself is SIGKILLed', async () => {
  const mark = randomUUID();
  const cli = spawn(process.execPath, [join(repoRoot(), 'packages/testkit/dist/stack-cli.js')], {
    env: {
      ...process.env,
      // Its own embedded S3, as `pnpm stack` runs for a user.
      ...Object.fromEntries(Object.entries(env.env).filter(([name]) => !name.startsWith('S3_'))),
      GATEWAY_PORT: String(await freePort()),
      NOTIFIER_PORT: String(await freePort()),
      STACK_TEST_MARK: mark,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(() => output.includes('stop: Ctrl-C') || cli.exitCode !== null, {
      what: 'the stack to start',
      timeoutMs: 180_000,
    });
    expect(output).toContain('stop: Ctrl-C');
    expect(processesMarked(mark).length).toBeGreaterThanOrEqual(4); // cli + 3 services
  } finally {
    cli.kill('SIGKILL');
  }
  // The kernel sends each service SIGTERM as its parent dies; they shut down cleanly.
  await waitFor(() => processesMarked(mark).length === 0, {
    what: 'the services to exit',
    timeoutMs: 60_000,
  });
}, 300_000);
