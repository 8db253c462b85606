// Everything one fault run stands on: a test environment (own database, queue prefix and
// bucket), the chunk-run probe, distinct audio, and the multi-process stack behind its
// proxies. Settings come from FAULTS_* variables so outages and deadlines can be tuned
// without editing scenarios.
import { randomBytes } from 'node:crypto';
import { createChunkRunProbe, type ChunkRunProbe } from './chunk-run-probe.js';
import { createFaultAudio, type FaultAudio } from './fault-audio.js';
import { startFaultStack, type FaultStack } from './fault-stack.js';
import { createTestEnv, type TestEnv } from './test-env.js';

export interface FaultSettings {
  /** How long each network outage lasts (FAULTS_OUTAGE_S, default 20). */
  outageMs: number;
  /** How long the end of a run waits for jobs to finish (FAULTS_SETTLE_S, default 120). */
  settleMs: number;
  /** Pause between jobs of the background load (FAULTS_JOB_INTERVAL_MS, default 3000). */
  jobIntervalMs: number;
  /** Per service start (FAULTS_START_TIMEOUT_S, default 60). */
  startTimeoutMs: number;
  /** Where result rows go (FAULTS_RESULTS); none when unset. */
  resultsFile?: string;
  gateways: number;
  workers: number;
  notifiers: number;
}

export interface FaultWorld {
  env: TestEnv;
  stack: FaultStack;
  probe: ChunkRunProbe;
  audio: FaultAudio;
  apiKey: string;
  settings: FaultSettings;
  close(): Promise<void>;
}

/**
 * Worker settings for quick recovery: 8 s chunks (a 16 s file is two chunks run in place,
 * a 32 s one four, fanned out), short leases and reaper interval, short retry backoff.
 */
export const FAULT_WORKER_ENV: Readonly<Record<string, string>> = {
  CHUNK_SECONDS: '8',
  CHUNK_WINDOW_S: '2',
  FANOUT_MIN_CHUNKS: '3',
  LEASE_S: '6',
  REAPER_INTERVAL_S: '2',
  STALE_QUEUED_S: '20',
  RETRY_BASE_MS: '2000',
  RETRY_MAX_MS: '10000',
  JOB_TIMEOUT_S: '180',
  WORKER_GRACE_S: '5',
  // The chunk-run probe sees transcriptions as `pocketsphinx_continuous` runs through
  // PATH (one per chunk); the resident decoder would hide them from it.
  SPHINX_RESIDENT: 'false',
};

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: not a non-negative number`);
  return value;
}

export function faultSettingsFromEnv(): FaultSettings {
  return {
    outageMs: number('FAULTS_OUTAGE_S', 20) * 1000,
    settleMs: number('FAULTS_SETTLE_S', 120) * 1000,
    jobIntervalMs: number('FAULTS_JOB_INTERVAL_MS', 3000),
    startTimeoutMs: number('FAULTS_START_TIMEOUT_S', 60) * 1000,
    resultsFile: process.env.FAULTS_RESULTS || undefined,
    gateways: number('FAULTS_GATEWAYS', 2),
    workers: number('FAULTS_WORKERS', 3),
    notifiers: number('FAULTS_NOTIFIERS', 2),
  };
}

export async function startFaultWorld(
  settings: FaultSettings,
  overrides: { workerEnv?: Record<string, string> } = {},
): Promise<FaultWorld> {
  const apiKey = `fault-key-${randomBytes(8).toString('hex')}`;
  const env = await createTestEnv();
  const closers: (() => Promise<void>)[] = [() => env.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const probe = await createChunkRunProbe();
    closers.push(() => probe.close());
    const audio = await createFaultAudio();
    closers.push(() => audio.close());
    const stack = await startFaultStack({
      env: {
        ...env.env,
        DEV_API_KEY: apiKey,
        LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'info',
      },
      gateways: settings.gateways,
      workers: settings.workers,
      notifiers: settings.notifiers,
      workerEnv: { ...FAULT_WORKER_ENV, ...overrides.workerEnv },
      workerPathPrefix: probe.binDir,
      startTimeoutMs: settings.startTimeoutMs,
    });
    closers.push(() => stack.stop());
    return { env, stack, probe, audio, apiKey, settings, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
