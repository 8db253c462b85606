// One measured scenario on a fault world: submissions tagged with the run's name, marks
// for when the fault ended, and the closing count (settle, audit the database and event
// log, read the chunk-run probe, the supervisor's incidents) as a ScenarioResult row.
import { randomBytes } from 'node:crypto';
import { summarizeRuns } from './chunk-run-probe.js';
import { auditJobs, waitSettled } from './fault-audit.js';
import { createFaultClient, type FaultClient, type SubmitOutcome } from './fault-client.js';
import { appendResult, type ScenarioResult } from './fault-report.js';
import type { ServiceLogLine } from './fault-stack.js';
import type { FaultWorld } from './fault-world.js';

export interface FaultRun {
  scenario: string;
  /** The `faultRun` metadata of this run's jobs. */
  tag: string;
  startedAt: number;
  client: FaultClient;
  /** Submits a file, tracked for the closing count. */
  submit(file: string): Promise<SubmitOutcome>;
  /** Submits a short distinct clip every `intervalMs` until stopped. */
  load(intervalMs?: number): { stop(): Promise<void> };
  /** The fault is over (restore, or the kill itself): recovery is measured from here. */
  faultEnded(at?: number): void;
  /** A rule break the closing count cannot see by itself (e.g. a WebSocket gap). */
  problem(text: string): void;
  note(text: string): void;
  /** Extra duplicates seen by clients (e.g. resumed WebSocket frames). */
  addDuplicates(n: number): void;
  /**
   * Waits for the stack and the jobs to settle and counts. `check` runs once settled,
   * before the row is written, to add scenario-specific problems and notes.
   */
  finish(check?: () => Promise<void>): Promise<ScenarioResult>;
}

export function startRun(world: FaultWorld, scenario: string): FaultRun {
  const tag = `${scenario.replace(/[^a-z0-9]+/gi, '-')}-${randomBytes(3).toString('hex')}`;
  const startedAt = Date.now();
  const countsAtStart = world.stack.counts();
  const client = createFaultClient({
    gatewayUrls: world.stack.gatewayUrls,
    apiKey: world.apiKey,
    run: tag,
  });
  const submissions: Promise<SubmitOutcome>[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  let extraDuplicates = 0;
  let faultEndedAt: number | undefined;

  const submit = (file: string) => {
    const outcome = client.submit(file);
    submissions.push(outcome);
    return outcome;
  };

  return {
    scenario,
    tag,
    startedAt,
    client,
    submit,
    load(intervalMs = world.settings.jobIntervalMs) {
      let stopped = false;
      let wake: (() => void) | undefined;
      const loop = (async () => {
        // Bounded: at most one job per interval, never more than 500 in one run.
        for (let i = 0; i < 500 && !stopped; i++) {
          void submit(await world.audio.short());
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, intervalMs);
          });
        }
      })();
      return {
        async stop() {
          stopped = true;
          wake?.();
          await loop;
        },
      };
    },
    faultEnded(at = Date.now()) {
      faultEndedAt = at;
    },
    problem: (text) => void problems.push(text),
    note: (text) => void notes.push(text),
    addDuplicates(n) {
      extraDuplicates += n;
    },
    async finish(check) {
      const outcomes = await Promise.all(submissions);
      try {
        await world.stack.waitAllUp(world.settings.startTimeoutMs * 2);
      } catch (error) {
        problems.push(String(error));
      }
      const settled = await waitSettled(world.env.db, tag, world.settings.settleMs);
      if (!settled) notes.push(`not settled within ${world.settings.settleMs / 1000} s`);
      await check?.();
      const audit = await auditJobs(world.env.db, tag);
      const endedAt = Date.now();
      const runs = summarizeRuns(await world.probe.runs(), startedAt, endedAt);
      const counts = world.stack.counts();
      const incidents = world.stack.incidents().filter((i) => i.at >= startedAt);

      const answered = outcomes.flatMap((o) => (o.job ? [o.job.id] : []));
      const known = new Set(audit.ids);
      const lost = answered.filter((id) => !known.has(id));
      if (lost.length)
        problems.push(`${lost.length} job(s) answered 202 but not stored: ${lost.join(', ')}`);
      const gaveUp = outcomes.filter((o) => o.gaveUp);
      if (gaveUp.length) {
        problems.push(
          `${gaveUp.length} submission(s) never accepted; first: ${gaveUp[0]!.gaveUp!.slice(0, 300)}`,
        );
      }
      if (audit.failedWithoutReason) {
        problems.push(`${audit.failedWithoutReason} job(s) failed without a reason`);
      }
      if (audit.seqGaps) problems.push(`${audit.seqGaps} job(s) with holes in their event seqs`);
      if (audit.statusMismatches) {
        problems.push(`${audit.statusMismatches} job(s) whose last terminal event ≠ status`);
      }
      if (audit.canceled) notes.push(`${audit.canceled} canceled`);
      for (const incident of incidents) {
        problems.push(
          `${incident.id} died unplanned (code ${incident.code}, signal ${incident.signal}); last output:\n${indent(incident.tail)}`,
        );
      }
      for (const run of runs.concurrent) {
        problems.push(
          `chunk ${run.key} started on ${world.stack.idOfPid(run.workerPid) ?? `pid ${run.workerPid}`} at +${((run.at - startedAt) / 1000).toFixed(1)} s while another run of it was going`,
        );
      }
      if (audit.stuck.length) {
        problems.push(
          `stuck: ${audit.stuck.map((s) => `${s.id} ${s.status} (attempts ${s.attempts})`).join('; ')}`,
        );
      }
      notes.push(`pocketsphinx runs ${runs.runs}, reruns of the same audio ${runs.reruns}`);
      const codes = Object.entries(audit.failureCodes);
      if (codes.length) {
        notes.push(
          `failures: ${codes.map(([c, n]) => `${c}×${n} ("${audit.failureExamples[c]?.slice(0, 120)}")`).join(', ')}`,
        );
      }
      const submitTries = outcomes.reduce((sum, o) => sum + o.tries, 0);
      notes.push(`${outcomes.length} submissions in ${submitTries} tries`);
      notes.push(`logs: ${world.stack.logDir}`);

      const recovery =
        faultEndedAt === undefined
          ? undefined
          : audit.completions.find((at) => at >= faultEndedAt!);
      const result: ScenarioResult = {
        scenario,
        accepted: audit.accepted,
        completed: audit.completed,
        failed: audit.failed,
        stuck: audit.stuck.length,
        duplicates: audit.duplicateTerminalEvents + extraDuplicates,
        concurrentChunkRuns: runs.concurrent.length,
        kills: counts.kills - countsAtStart.kills,
        restarts: incidents.length,
        recoveryMs:
          recovery === undefined || faultEndedAt === undefined ? null : recovery - faultEndedAt,
        wallMs: endedAt - startedAt,
        problems,
        notes,
      };
      if (world.settings.resultsFile) appendResult(world.settings.resultsFile, result);
      return result;
    },
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l.slice(0, 400)}`)
    .join('\n');
}

/** The first service log line matching, from `since` on (epoch ms). */
export function findLog(
  lines: readonly ServiceLogLine[],
  match: (line: ServiceLogLine) => boolean,
  since = 0,
): ServiceLogLine | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.at < since) break;
    if (match(line)) return line;
  }
  return undefined;
}
