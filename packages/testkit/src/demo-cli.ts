#!/usr/bin/env node
// `pnpm demo [file]`: starts the whole stack on this machine, transcribes one recording
// through it as a user would (presigned upload, live progress over WebSocket), prints
// the transcript and stops the stack.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@transcribe/client';
import { runTranscribe } from '@transcribe/cli';
import { localStackOptionsFromEnv, startLocalStack } from './local-stack.js';
import { freePort } from './ports.js';
import { LIBRIVOX_DIR, librivoxClips } from './wer.js';

/** With no file: the LibriVox clips of pocketsphinx-testdata joined into one ~25 s recording. */
function defaultSample(dir: string): string {
  if (!existsSync(LIBRIVOX_DIR)) {
    throw new Error(
      'no file given and pocketsphinx-testdata is not installed (run scripts/setup.sh)',
    );
  }
  const list = join(dir, 'list.txt');
  writeFileSync(
    list,
    librivoxClips()
      .map((c) => `file '${c.wav}'`)
      .join('\n'),
  );
  const out = join(dir, 'librivox-sample.wav');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-c',
    'copy',
    out,
  ]);
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'transcribe-demo-'));
const file = process.argv[2]
  ? resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2])
  : defaultSample(work);
const defaults = localStackOptionsFromEnv();
const options = {
  ...defaults,
  // Free ports unless asked for: a demo must not collide with a running `pnpm stack`.
  gatewayPort: process.env.GATEWAY_PORT ? defaults.gatewayPort : await freePort(),
  notifierPort: process.env.NOTIFIER_PORT ? defaults.notifierPort : await freePort(),
};
process.env.LOG_LEVEL ??= 'warn';
console.error(
  `starting the stack (Postgres ${new URL(options.databaseUrl).host}, RabbitMQ, embedded S3)…`,
);
const local = await startLocalStack(options);
let code = 1;
try {
  console.error(`transcribing ${file}\n`);
  code = await runTranscribe(
    { file, format: 'txt', progress: true },
    {
      client: createClient({ baseUrl: local.stack.gatewayUrl, apiKey: options.devApiKey }),
      stdout: process.stdout,
      stderr: process.stderr,
    },
  );
} finally {
  await local.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
