#!/usr/bin/env node
// `pnpm docs:config`: rewrites docs/configuration.md from the config schemas.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema, notifierSchema, workerSchema } from '@transcribe/config';
import { generateConfigurationDoc } from './config-reference.js';
import { repoRoot } from './repo.js';

const root = repoRoot();
const doc = generateConfigurationDoc(root, {
  gateway: gatewaySchema,
  worker: workerSchema,
  notifier: notifierSchema,
});
writeFileSync(join(root, 'docs/configuration.md'), doc);
console.log('wrote docs/configuration.md');
