#!/usr/bin/env node
// `pnpm stack`: the whole service on this machine, until Ctrl-C.
import { localStackOptionsFromEnv, startLocalStack } from './local-stack.js';

const options = localStackOptionsFromEnv();
const local = await startLocalStack({ ...options, inheritOutput: true });
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
