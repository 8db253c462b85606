// docs/configuration.md is generated from the config schemas; this fails when either changed
// without the other (fix: `pnpm docs:config`), and when a variable has no doc comment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema, notifierSchema, workerSchema } from '@transcribe/config';
import {
  configReference,
  generateConfigurationDoc,
  variableDocComments,
} from '../src/config-reference.js';
import { root } from './support.js';

const schemas = { gateway: gatewaySchema, worker: workerSchema, notifier: notifierSchema };

it('docs/configuration.md is what the schemas generate (run `pnpm docs:config`)', () => {
  const onDisk = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
  expect(onDisk).toBe(generateConfigurationDoc(root, schemas));
});

it('every variable says what it means', () => {
  const source = readFileSync(join(root, 'packages/config/src/schemas.ts'), 'utf8');
  const undocumented = configReference(schemas, variableDocComments(source))
    .filter((v) => !v.description)
    .map((v) => v.name);
  expect(undocumented).toEqual([]);
});

it('shows defaults as an operator writes them, and which services read each variable', () => {
  const byName = new Map(configReference(schemas, new Map()).map((v) => [v.name, v] as const));
  expect(byName.get('S3_BUCKET')).toMatchObject({
    default: 'required',
    services: ['gateway', 'worker'],
  });
  expect(byName.get('ENGINES')?.default).toBe('`sphinx`');
  expect(byName.get('AMQP_PREFIX')?.default).toBe('empty');
  expect(byName.get('S3_ENDPOINT')?.default).toBe('unset');
  expect(byName.get('DATABASE_URL')?.services).toEqual(['gateway', 'worker', 'notifier']);
});
