// The adapter fence in eslint.config.js: the client library of each external system may be
// imported only by that system's adapter (tests, benches, scripts and the testkit aside).
// Snippets are linted as if they lived at the given paths, with the repository's own config.
// ESLint runs in a child process: the flat config is an ES module, which jest's CommonJS
// runtime cannot load.
import { execFileSync } from 'node:child_process';
import { root } from './support.js';

interface FenceCase {
  module: string;
  file: string;
  allowed: boolean;
  /** `type`: an `import type`, which the fence treats like any other import. */
  kind?: 'value' | 'type';
}

const blocked = (module: string, file: string, kind?: 'type'): FenceCase => ({
  module,
  file,
  allowed: false,
  kind,
});
const allowed = (module: string, file: string): FenceCase => ({ module, file, allowed: true });

const cases: FenceCase[] = [
  blocked('pg', 'services/gateway/src/fence-probe.ts'),
  blocked('kysely', 'services/worker/src/fence-probe.ts', 'type'),
  blocked('kysely/helpers/postgres', 'services/gateway/src/routes/fence-probe.ts'),
  blocked('pg', 'packages/queue/src/fence-probe.ts'),
  allowed('pg', 'packages/db/src/fence-probe.ts'),
  allowed('kysely', 'packages/db/src/migrations/fence-probe.ts'),

  blocked('amqplib', 'services/notifier/src/webhooks/fence-probe.ts'),
  blocked('amqp-connection-manager', 'packages/db/src/fence-probe.ts'),
  allowed('amqp-connection-manager', 'packages/queue/src/fence-probe.ts'),

  blocked('@aws-sdk/client-s3', 'services/worker/src/fence-probe.ts'),
  blocked('@aws-sdk/s3-request-presigner', 'services/gateway/src/fence-probe.ts'),
  allowed('@aws-sdk/lib-storage', 'packages/storage/src/fence-probe.ts'),

  blocked('fluent-ffmpeg', 'services/worker/src/pipeline.ts'),
  allowed('fluent-ffmpeg', 'services/worker/src/media.ts'),

  blocked('openai', 'services/worker/src/engines/sphinx.ts'),
  allowed('openai', 'services/worker/src/engines/openai.ts'),

  blocked('ws', 'services/notifier/src/sse.ts'),
  blocked('ws', 'packages/cli/src/fence-probe.ts'),
  allowed('ws', 'services/notifier/src/hub.ts'),
  allowed('ws', 'packages/client/src/events.ts'),

  // Exempt: code that sets the systems up or pokes them from outside.
  allowed('pg', 'services/gateway/test/fence-probe.test.ts'),
  allowed('amqplib', 'bench/notifier/fence-probe.ts'),
  allowed('pg', 'packages/testkit/src/fence-probe.ts'),
  allowed('amqplib', 'scripts/fence-probe.mjs'),
];

/** Per case, the no-restricted-imports messages ESLint reports. */
function lintCases(): string[][] {
  const snippets = cases.map((c) => ({
    file: c.file,
    code:
      c.kind === 'type'
        ? `import type * as probe from '${c.module}';\nexport type Probe = typeof probe;\n`
        : `import * as probe from '${c.module}';\nexport default probe;\n`,
  }));
  const script = `
    import { ESLint } from 'eslint';
    const eslint = new ESLint();
    const out = [];
    for (const { file, code } of JSON.parse(process.env.FENCE_SNIPPETS)) {
      const [result] = await eslint.lintText(code, { filePath: file });
      // A snippet that did not parse (or a path ESLint ignores) would pass for allowed.
      const unusable = result.messages.find((m) => m.fatal) ?? result.messages.find((m) => !m.ruleId);
      if (unusable) throw new Error(file + ': ' + unusable.message);
      out.push(
        result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message),
      );
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, FENCE_SNIPPETS: JSON.stringify(snippets) },
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as string[][];
}

describe('adapter fence (eslint no-restricted-imports)', () => {
  let reported: string[][];
  beforeAll(() => {
    reported = lintCases();
  }, 120_000);

  it.each(cases.map((c, i) => [c.allowed ? 'allows' : 'forbids', c.module, c.file, i] as const))(
    '%s %s in %s',
    (_verdict, _module, _file, i) => {
      const { allowed: isAllowed } = cases[i]!;
      if (isAllowed) expect(reported[i]).toEqual([]);
      else expect(reported[i]).toEqual([expect.stringMatching(/go(es)? through/)]);
    },
  );
});
