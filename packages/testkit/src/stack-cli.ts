#!/usr/bin/env node
// `pnpm stack`: the whole service on this machine, until Ctrl-C. A service that dies is
// started again with backoff, as compose or Kubernetes would, and the terminal says so.
import { localStackOptionsFromEnv, startLocalStack } from './local-stack.js';
import type { SupervisorEvent } from './supervisor.js';

const say = (line: string) => console.error(`stack: ${line}`);

function report(event: SupervisorEvent): void {
  switch (event.type) {
    case 'exited':
      say(
        `${event.id} exited (${event.signal ?? `code ${event.code}`})` +
          `${event.planned ? '' : ' unexpectedly'}; restarting it`,
      );
      break;
    case 'start-failed':
      say(
        `${event.id} did not come back (try ${event.attempt}); next try in ` +
          `${Math.round(event.retryInMs / 1000)} s: ${event.error.split('\n')[0]}`,
      );
      break;
    case 'restarted':
      say(`${event.id} restarted (pid ${event.process.child.pid})`);
      break;
    case 'gave-up':
      say(`${event.id} gave up restarting: ${event.error}`);
      break;
  }
}

const options = localStackOptionsFromEnv();
let local: Awaited<ReturnType<typeof startLocalStack>>;
try {
  local = await startLocalStack({
    ...options,
    inheritOutput: true,
    restart: true,
    onEvent: report,
  });
} catch (error) {
  // startService's message carries the service's own output; nothing is left running.
  say(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
console.error(`
  gateway   ${local.stack.gatewayUrl}
  events    ${local.stack.env.EVENTS_PUBLIC_URL}/v1/events
  s3        ${local.stack.env.S3_ENDPOINT} (bucket ${local.stack.env.S3_BUCKET})
  api key   ${options.devApiKey}

  try:  TRANSCRIBE_URL=${local.stack.gatewayUrl} TRANSCRIBE_API_KEY=${options.devApiKey} pnpm transcribe <file>
  stop: Ctrl-C
`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await local.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
