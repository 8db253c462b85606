// Fair scheduling benchmark (issue 17; not a test). Two parts in one run:
// 1. Claim time: `--claim-jobs` queued jobs (default 10,000) spread over `--claim-tenants`
//    tenants (default 100) in a fresh database; `--claims` claims by claimNextWork, each
//    timed (the ranking query, the row lock, the claim and its event, one transaction).
// 2. Queue wait: for SCHEDULER=fifo and then fair, a running stack (built gateway,
//    notifier and `--workers` workers as processes, pocketsphinx on the 11 s JFK clip, a
//    fresh database each): a large tenant floods `--flood` jobs, then a small tenant
//    submits `--small` jobs, one every `--every-s` seconds. The small tenant's queue waits
//    (started_at − created_at) are compared: p50 and p95 for each scheduler, and their ratio.
// Prints a table and writes the JSON to `--out` (default bench/fair-wait.json).
// Run: `pnpm bench:fair` (a few minutes with the defaults).
// The emitted JS lands beside this file (ignored by git), like eta-accuracy.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureTenant } from '../packages/db/dist/index.js';
import { claimNextWork } from '../packages/jobs/dist/index.js';
import {
  audioFixture,
  createTestEnv,
  seedTenant,
  startStack,
  submitRecording,
  type SeededTenant,
} from '../packages/testkit/dist/index.js';

const { values } = parseArgs({
  options: {
    'claim-jobs': { type: 'string', default: '10000' },
    'claim-tenants': { type: 'string', default: '100' },
    claims: { type: 'string', default: '300' },
    flood: { type: 'string', default: '16' },
    small: { type: 'string', default: '4' },
    'every-s': { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/fair-wait.json' },
  },
});
const claimJobs = Number(values['claim-jobs']);
const claimTenants = Number(values['claim-tenants']);
const claims = Number(values.claims);
const flood = Number(values.flood);
const small = Number(values.small);
const everyS = Number(values['every-s']);
const workers = Number(values.workers);

const watchdog = setTimeout(() => {
  console.error('benchmark ran past its limit; giving up');
  process.exit(1);
}, 20 * 60_000);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

async function claimTime() {
  const env = await createTestEnv();
  try {
    const tenants: string[] = [];
    for (let i = 0; i < claimTenants; i++) tenants.push(await ensureTenant(env.db, `bench-${i}`));
    // Queued jobs round-robin over the tenants, a tenth at high priority, oldest first.
    const start = Date.now() - claimJobs;
    for (let from = 0; from < claimJobs; from += 1000) {
      await env.db
        .insertInto('jobs')
        .values(
          Array.from({ length: Math.min(1000, claimJobs - from) }, (_, k) => {
            const i = from + k;
            return {
              id: randomUUID(),
              tenant_id: tenants[i % claimTenants]!,
              status: 'queued',
              stage: 'queued',
              priority: i % 10 === 0 ? 'high' : 'default',
              object_key: 'bench/x.wav',
              filename: 'x.wav',
              content_type: 'audio/wav',
              size_bytes: 1,
              language: 'en',
              engine: 'sphinx',
              queued_at: new Date(start + i),
            } as const;
          }),
        )
        .execute();
    }
    const timesMs: number[] = [];
    for (let i = 0; i < claims; i++) {
      const t0 = performance.now();
      const work = await claimNextWork(env.db, {
        leaseMs: 600_000,
        chunkLeaseMs: 600_000,
        tenantMaxConcurrent: 10,
        chunks: true,
        holderId: `bench-${i}`,
      });
      timesMs.push(performance.now() - t0);
      if (work.kind !== 'job') throw new Error(`claim ${i}: ${work.kind}`);
    }
    return {
      queuedJobs: claimJobs,
      tenants: claimTenants,
      claims,
      p50Ms: quantile(timesMs, 0.5),
      p95Ms: quantile(timesMs, 0.95),
      meanMs: timesMs.reduce((a, b) => a + b, 0) / timesMs.length,
    };
  } finally {
    await env.close();
  }
}

async function queueWait(scheduler: 'fifo' | 'fair') {
  const env = await createTestEnv();
  const big = await seedTenant(env.db, 'bench-large');
  const little = await seedTenant(env.db, 'bench-small');
  const stack = await startStack({
    env: { ...env.env, SCHEDULER: scheduler, WORKER_CONCURRENCY: '1', LOG_LEVEL: 'warn' },
    workers,
  });
  const audio = await readFile(audioFixture('jfk.wav'));
  const submit = (tenant: SeededTenant) =>
    submitRecording(stack.gatewayUrl, tenant.apiKey, {
      bytes: audio,
      name: 'jfk.wav',
      type: 'audio/wav',
    });
  try {
    for (let i = 0; i < flood; i++) await submit(big);
    const mine: string[] = [];
    for (let i = 0; i < small; i++) {
      await new Promise((r) => setTimeout(r, everyS * 1000));
      mine.push(await submit(little));
    }
    for (;;) {
      const open = await env.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', 'in', ['queued', 'processing'])
        .executeTakeFirstOrThrow();
      if (Number(open.n) === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const rows = await env.db
      .selectFrom('jobs')
      .select(['id', 'tenant_id', 'status', 'created_at', 'started_at', 'finished_at'])
      .execute();
    const failed = rows.filter((r) => r.status !== 'completed').length;
    const waitsS = rows
      .filter((r) => r.tenant_id === little.id && r.started_at)
      .map((r) => (r.started_at!.getTime() - r.created_at.getTime()) / 1000);
    const jobS = rows
      .filter((r) => r.started_at && r.finished_at)
      .map((r) => (r.finished_at!.getTime() - r.started_at!.getTime()) / 1000);
    return {
      scheduler,
      flood,
      small,
      workers,
      failed,
      smallWaitsS: waitsS,
      p50S: quantile(waitsS, 0.5),
      p95S: quantile(waitsS, 0.95),
      jobP50S: quantile(jobS, 0.5),
    };
  } finally {
    await stack.stop();
    await env.close();
  }
}

try {
  const claim = await claimTime();
  console.error(`claim time measured (load ${loadavg()[0]!.toFixed(1)})`);
  const fifo = await queueWait('fifo');
  console.error(`fifo done (load ${loadavg()[0]!.toFixed(1)})`);
  const fair = await queueWait('fair');
  console.error(`fair done (load ${loadavg()[0]!.toFixed(1)})`);
  console.log(
    `claim: ${claim.queuedJobs} queued jobs over ${claim.tenants} tenants, ${claim.claims} claims: ` +
      `p50 ${claim.p50Ms.toFixed(2)} ms, p95 ${claim.p95Ms.toFixed(2)} ms, mean ${claim.meanMs.toFixed(2)} ms`,
  );
  console.log(
    `queue wait of the small tenant (${small} jobs, one every ${everyS} s, behind ${flood} of the large tenant's; ${workers} workers)`,
  );
  console.log('scheduler   p50 s   p95 s   job p50 s  failed');
  for (const r of [fifo, fair]) {
    console.log(
      `${r.scheduler.padEnd(9)}  ${r.p50S.toFixed(1).padStart(6)}  ${r.p95S.toFixed(1).padStart(6)}  ${r.jobP50S.toFixed(1).padStart(9)}  ${String(r.failed).padStart(6)}`,
    );
  }
  const ratio = { p50: fifo.p50S / fair.p50S, p95: fifo.p95S / fair.p95S };
  console.log(`fifo / fair: p50 ×${ratio.p50.toFixed(1)}, p95 ×${ratio.p95.toFixed(1)}`);
  await writeFile(
    values.out,
    JSON.stringify(
      { claim, fifo, fair, ratio, loadavg: loadavg(), run: randomBytes(4).toString('hex') },
      null,
      2,
    ),
  );
  console.log(`written: ${values.out}`);
} finally {
  clearTimeout(watchdog);
}
