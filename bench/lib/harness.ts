// The `pnpm bench` harness (issue 18). A suite sets up what its figures need once (a
// stack, a baseline server, clients), then each figure measures our path and its
// baseline side by side, interleaved: round 1 ours then baseline, round 2 baseline then
// ours, and so on, so both see the same machine load. A check is computed within each
// round (a ratio of two numbers measured minutes apart means little on a shared box),
// and the median over the rounds is what is reported and held against the target.
import { cpus, loadavg, totalmem } from 'node:os';

/** One measurement: named numbers (rps, p99Ms, peakRssMb, …). */
export type Sample = Record<string, number>;

export interface Check {
  /** What is held against the target, e.g. "req/s ÷ baseline". */
  label: string;
  /** Computed from one round's pair (baseline absent for figures without one). */
  value: (ours: Sample, baseline: Sample | undefined) => number;
  atLeast?: number;
  atMost?: number;
  /** Why the target is what it is, or what limits it; printed in the JSON. */
  note?: string;
}

export interface Figure {
  id: string;
  title: string;
  /** What the baseline is, in a few words ("bare express: INSERT + confirmed publish"). */
  baselineTitle?: string;
  ours: () => Promise<Sample>;
  baseline?: () => Promise<Sample>;
  checks: Check[];
  /**
   * At most this many rounds unless the run asks for all (`--all-rounds`): for a figure
   * whose one round takes most of an hour here (a 60-minute recording transcribed on one
   * worker and again on two), with the reason printed beside its result.
   */
  maxRounds?: { rounds: number; why: string };
}

export interface Suite {
  name: string;
  /**
   * The suite's watchdog: minutes allowed for setup plus this per round, generous for a
   * loaded machine (the run's `--suite-timeout-min` overrides it).
   */
  watchdogMin: { setup: number; perRound: number };
  /** Starts what the figures share; `close` stops it, also after a failure. */
  setup: (options: SuiteOptions) => Promise<{ figures: Figure[]; close: () => Promise<void> }>;
}

export interface SuiteOptions {
  /** Smaller loads for a smoke run (`--quick`): same code, same checks, looser numbers. */
  quick: boolean;
  log: (line: string) => void;
}

export interface CheckResult {
  label: string;
  median: number;
  perRound: number[];
  atLeast?: number;
  atMost?: number;
  met: boolean;
  note?: string;
}

export interface FigureResult {
  suite: string;
  id: string;
  title: string;
  baselineTitle?: string;
  rounds: { ours: Sample; baseline?: Sample; order: 'ours-first' | 'baseline-first' }[];
  /** Why it ran fewer rounds than asked (its `maxRounds`). */
  fewerRoundsWhy?: string;
  ours: Sample;
  baseline?: Sample;
  checks: CheckResult[];
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The q-quantile by nearest rank (p99 of 100 values is the 99th). */
export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

/** Per-key median of samples (keys present in all of them). */
export function medianSample(samples: Sample[]): Sample {
  const keys = Object.keys(samples[0] ?? {});
  return Object.fromEntries(keys.map((k) => [k, median(samples.map((s) => s[k] ?? NaN))]));
}

export async function runFigure(
  suite: string,
  figure: Figure,
  requestedRounds: number,
  log: (line: string) => void,
  allRounds = false,
): Promise<FigureResult> {
  const rounds =
    figure.maxRounds && !allRounds
      ? Math.min(requestedRounds, figure.maxRounds.rounds)
      : requestedRounds;
  const fewerRoundsWhy = rounds < requestedRounds ? figure.maxRounds!.why : undefined;
  if (fewerRoundsWhy)
    log(`  ${figure.id}: ${rounds} round(s), not ${requestedRounds}: ${fewerRoundsWhy}`);
  const measured: FigureResult['rounds'] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? 'ours-first' : 'baseline-first';
    let ours: Sample;
    let baseline: Sample | undefined;
    if (order === 'ours-first' || !figure.baseline) {
      ours = await figure.ours();
      baseline = await figure.baseline?.();
    } else {
      baseline = await figure.baseline();
      ours = await figure.ours();
    }
    log(
      `  ${figure.id} round ${r + 1}/${rounds}: ours ${fmtSample(ours)}${baseline ? ` | baseline ${fmtSample(baseline)}` : ''}`,
    );
    measured.push({ ours, ...(baseline ? { baseline } : {}), order });
  }
  const checks = figure.checks.map((c): CheckResult => {
    const perRound = measured.map((m) => c.value(m.ours, m.baseline));
    const value = median(perRound);
    const met =
      Number.isFinite(value) &&
      (c.atLeast === undefined || value >= c.atLeast) &&
      (c.atMost === undefined || value <= c.atMost);
    return {
      label: c.label,
      median: value,
      perRound,
      ...(c.atLeast !== undefined ? { atLeast: c.atLeast } : {}),
      ...(c.atMost !== undefined ? { atMost: c.atMost } : {}),
      met,
      ...(c.note ? { note: c.note } : {}),
    };
  });
  const baselines = measured.flatMap((m) => (m.baseline ? [m.baseline] : []));
  return {
    suite,
    id: figure.id,
    title: figure.title,
    ...(figure.baselineTitle ? { baselineTitle: figure.baselineTitle } : {}),
    rounds: measured,
    ...(fewerRoundsWhy ? { fewerRoundsWhy } : {}),
    ours: medianSample(measured.map((m) => m.ours)),
    ...(baselines.length ? { baseline: medianSample(baselines) } : {}),
    checks,
  };
}

const round = (n: number) =>
  !Number.isFinite(n)
    ? String(n)
    : Math.abs(n) >= 100
      ? n.toFixed(0)
      : Math.abs(n) >= 10
        ? n.toFixed(1)
        : n.toFixed(2);

export const fmtSample = (s: Sample) =>
  Object.entries(s)
    .map(([k, v]) => `${k}=${round(v)}`)
    .join(' ');

/** The one printed table: each check with ours, the baseline, the median value and the target. */
export function table(results: FigureResult[]): string {
  const rows = [['figure', 'check', 'median', 'rounds', 'target', 'met']];
  for (const r of results) {
    for (const c of r.checks) {
      rows.push([
        r.id,
        c.label,
        round(c.median),
        c.perRound.map(round).join(' / '),
        [
          c.atLeast !== undefined ? `≥ ${c.atLeast}` : '',
          c.atMost !== undefined ? `≤ ${c.atMost}` : '',
        ]
          .filter(Boolean)
          .join(' '),
        c.met ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row, n) => {
      const line = row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
      return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
