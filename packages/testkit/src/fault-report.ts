// One row per fault scenario: what was accepted and how it ended, what broke the rules,
// and how long recovery took. Rows are appended to a JSON-lines file as scenarios end
// (even failing ones), and printed as a table by the suite's reporter and the soak CLI.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface ScenarioResult {
  scenario: string;
  /** Jobs the system stored for the run (whether or not the client heard the 202). */
  accepted: number;
  completed: number;
  /** Failed with a stated reason. */
  failed: number;
  stuck: number;
  /** Extra terminal events in the log, plus duplicate frames a resuming client received. */
  duplicates: number;
  /** Runs of a chunk that started while the same chunk was running elsewhere. */
  concurrentChunkRuns: number;
  /** Planned SIGKILLs by the scenario. */
  kills: number;
  /** Restarts after a service died on its own (a crash), each an incident. */
  restarts: number;
  /** From the fault's end (restore or kill) to the first job completing after it. */
  recoveryMs: number | null;
  wallMs: number;
  /** Rule breaks other than the columns above, spelled out (empty when clean). */
  problems: string[];
  /** Anything else worth reading next to the row (reruns, failure codes…). */
  notes: string[];
}

/** The rules every scenario ends on; each break is one line of text. */
export function ruleBreaks(r: ScenarioResult): string[] {
  const breaks = [...r.problems];
  if (r.accepted === 0) breaks.push('no job was accepted');
  if (r.accepted !== r.completed + r.failed + r.stuck) {
    breaks.push(
      `accepted ${r.accepted} ≠ completed ${r.completed} + failed-with-reason ${r.failed} + stuck ${r.stuck}`,
    );
  }
  if (r.stuck > 0) breaks.push(`${r.stuck} job(s) stuck`);
  if (r.duplicates > 0) breaks.push(`${r.duplicates} duplicate(s)`);
  if (r.concurrentChunkRuns > 0) breaks.push(`${r.concurrentChunkRuns} concurrent chunk run(s)`);
  if (r.restarts > 0) breaks.push(`${r.restarts} service crash(es) (restarted by the harness)`);
  if (r.recoveryMs === null) breaks.push('no job completed after the fault');
  return breaks;
}

export function appendResult(file: string, result: ScenarioResult): void {
  appendFileSync(file, `${JSON.stringify(result)}\n`);
}

export function readResults(file: string): ScenarioResult[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ScenarioResult);
}

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

export function formatTable(results: readonly ScenarioResult[]): string {
  const header = [
    'scenario',
    'accepted',
    'completed',
    'failed',
    'stuck',
    'dupes',
    'concurrent',
    'kills',
    'restarts',
    'recovery',
    'wall',
    'verdict',
  ];
  const rows = results.map((r) => [
    r.scenario,
    String(r.accepted),
    String(r.completed),
    String(r.failed),
    String(r.stuck),
    String(r.duplicates),
    String(r.concurrentChunkRuns),
    String(r.kills),
    String(r.restarts),
    seconds(r.recoveryMs),
    seconds(r.wallMs),
    ruleBreaks(r).length === 0 ? 'ok' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  for (const r of results) {
    const breaks = ruleBreaks(r);
    if (breaks.length === 0 && r.notes.length === 0) continue;
    out.push('', `${r.scenario}:`);
    for (const b of breaks) out.push(`  FAIL ${b}`);
    for (const n of r.notes) out.push(`  note ${n}`);
  }
  return out.join('\n');
}
