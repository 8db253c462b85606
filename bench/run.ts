// `pnpm bench` (issue 18): every figure next to its baseline, interleaved in the same run,
// `--rounds` rounds (default 3), medians; loopback only, each suite bounded by a watchdog.
// Prints one table and writes the JSON to `--out` (default bench/results.json).
//   pnpm bench                         all suites
//   pnpm bench --only gateway,notifier  some suites
//   pnpm bench --quick                  smaller loads, a smoke run of the same code
//   pnpm bench --all-rounds             every figure `--rounds` times, the hour-long ones too
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { machine, runFigure, table, type FigureResult, type Suite } from './lib/harness.js';
import { suites } from './suites/index.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'all-rounds': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results.json' },
    'suite-timeout-min': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const wanted = values.only?.split(',').map((s) => s.trim());
const chosen: Suite[] = wanted ? suites.filter((s) => wanted.includes(s.name)) : suites;
if (wanted && chosen.length !== wanted.length) {
  console.error(`unknown suite in --only; known: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const log = (line: string) => console.log(line);

const startedAt = new Date().toISOString();
const before = machine();
const results: FigureResult[] = [];
const failures: string[] = [];
for (const suite of chosen) {
  log(`suite ${suite.name}`);
  // A stuck suite ends the run with what was measured so far, never hangs it.
  const limitMin = values['suite-timeout-min']
    ? Number(values['suite-timeout-min'])
    : suite.watchdogMin.setup + rounds * suite.watchdogMin.perRound;
  const watchdog = setTimeout(() => {
    console.error(`suite ${suite.name} ran past ${limitMin} minutes; giving up`);
    process.exit(1);
  }, limitMin * 60_000);
  const t0 = performance.now();
  try {
    const { figures, close } = await suite.setup({ quick: values.quick, log });
    try {
      for (const figure of figures)
        results.push(await runFigure(suite.name, figure, rounds, log, values['all-rounds']));
    } finally {
      await close();
    }
  } catch (error) {
    failures.push(
      `${suite.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    console.error(`suite ${suite.name} failed:`, error);
  } finally {
    clearTimeout(watchdog);
  }
  log(`suite ${suite.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const out = {
  startedAt,
  finishedAt: new Date().toISOString(),
  rounds,
  quick: values.quick,
  machine: { ...before, loadavgAtEnd: machine().loadavg },
  results,
  failures,
};
await writeFile(values.out, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\n${table(results)}\n`);
console.log(
  `machine: ${before.cpus} × ${before.cpuModel}, ${before.memGiB} GiB, node ${before.node}, load ${before.loadavg.join(' ')} → ${out.machine.loadavgAtEnd.join(' ')}`,
);
console.log(`results: ${values.out}`);
process.exit(failures.length ? 1 : 0);
