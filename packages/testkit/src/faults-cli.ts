// `pnpm test:faults`: the fault scenarios under jest, one file at a time, then their table.
// `pnpm test:faults --soak N [--seed S]`: N seeded random faults on one stack instead
// (not for CI: long, and random by design). Other arguments go to jest (e.g. a file
// pattern: `pnpm test:faults postgres`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, ruleBreaks } from './fault-report.js';
import { faultSettingsFromEnv } from './fault-world.js';
import { repoRoot } from './repo.js';
import { runSoak } from './soak.js';

function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const soak = takeOption(args, '--soak');
  const seedArg = takeOption(args, '--seed');
  const root = repoRoot();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  if (soak !== undefined) {
    const count = Number(soak);
    if (!Number.isInteger(count) || count < 1 || count > 10_000) {
      throw new Error('--soak takes a number of faults (1–10000)');
    }
    const seed = seedArg === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedArg);
    if (!Number.isInteger(seed)) throw new Error('--seed takes an integer');
    console.log(`soak: ${count} faults, seed ${seed} (replay with --seed ${seed})`);
    const result = await runSoak(count, seed, faultSettingsFromEnv(), (line) => console.log(line));
    console.log(`\n${formatTable([result])}`);
    return ruleBreaks(result).length === 0 ? 0 : 1;
  }

  const dir = mkdtempSync(join(tmpdir(), 'faults-results-'));
  const results = join(dir, 'results.jsonl');
  try {
    const jest = createRequire(join(root, 'package.json')).resolve('jest/bin/jest');
    const child = spawnSync(
      process.execPath,
      [jest, '-c', join(root, 'jest.faults.config.cjs'), '--runInBand', ...args],
      { cwd: root, stdio: 'inherit', env: { ...process.env, FAULTS_RESULTS: results } },
    );
    return child.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
