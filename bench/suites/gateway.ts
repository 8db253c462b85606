// Suite `gateway` (issue 18): the gateway's two hottest API calls against bare express.
//   job-create: POST /v1/jobs for uploads already in S3 (each request its own upload),
//     through the built gateway process, against a bare express process doing one INSERT
//     into a copy of the jobs table and one confirmed publish (pg pool, confirm channel).
//   presign: POST /v1/uploads (a presigned PUT URL and the upload's row) against bare
//     express answering a JSON of the same size.
// The same forked load client, concurrency and request bytes on both sides. CPU per request
// is read from /proc for the server processes and their Postgres backends (see cpu.ts).
import { randomUUID } from 'node:crypto';
import { seedTenant } from '../../packages/testkit/dist/index.js';
import { cpuProbe, type CpuProbe } from '../gateway/cpu.js';
import type { LoadResult, RequestSpec } from '../gateway/load-client.js';
import { preparedUploads, startWorld, type World } from '../gateway/world.js';
import { quantile, type Figure, type Sample, type Suite } from '../lib/harness.js';

const CONCURRENCY = 32;

function sampleOf(result: LoadResult, cpu: Record<string, number>): Sample {
  const cpuMs = Object.values(cpu).reduce((a, b) => a + b, 0);
  return {
    rps: (result.ok / result.elapsedMs) * 1000,
    p50Ms: quantile(result.latenciesMs, 0.5),
    p99Ms: quantile(result.latenciesMs, 0.99),
    failed: result.failed,
    cpuMsPerReq: cpuMs / Math.max(1, result.ok),
    ...Object.fromEntries(
      Object.entries(cpu).map(([k, v]) => [`${k}CpuMsPerReq`, v / Math.max(1, result.ok)]),
    ),
  };
}

async function measure(
  world: World,
  probe: CpuProbe,
  requests: RequestSpec[],
  log: (line: string) => void,
): Promise<Sample> {
  const stop = await probe.start();
  const result = await world.load.run(
    { kind: 'requests', requests, concurrency: CONCURRENCY, timeoutMs: 30_000 },
    10 * 60_000,
  );
  const sample = sampleOf(result, await stop());
  if (result.failed)
    log(
      `    ${result.failed} failed: ${JSON.stringify(result.failures)}; first: ${result.firstFailure}`,
    );
  return sample;
}

export const gatewaySuite: Suite = {
  name: 'gateway',
  watchdogMin: { setup: 10, perRound: 10 },
  async setup({ quick, log }) {
    const perRound = quick ? 300 : 2000;
    const world = await startWorld();
    try {
      const tenant = await seedTenant(world.env.db, 'bench-gateway');
      const wav = await world.wav(0.1);
      const auth = {
        authorization: `Bearer ${tenant.apiKey}`,
        'content-type': 'application/json',
      };
      const jobBody = (uploadId: string) => JSON.stringify({ uploadId, language: 'en' });
      const presignBody = JSON.stringify({
        filename: 'bench.wav',
        contentType: 'audio/wav',
        sizeBytes: wav.length,
      });
      // A real presign answer, so the baseline answers as many bytes.
      const sampleAnswer = await fetch(`${world.gatewayUrl}/v1/uploads`, {
        method: 'POST',
        headers: auth,
        body: presignBody,
      });
      if (sampleAnswer.status !== 201) throw new Error(`presign: ${sampleAnswer.status}`);
      const bare = await world.startBaseline({
        TENANT_ID: tenant.id,
        PRESIGN_ANSWER: await sampleAnswer.text(),
      });
      const ours = world.cpu();
      const baseline = cpuProbe(world.env.db, { bare: bare.pid }, { barePg: 'bench-bare' });
      const jobRequests = (base: string, ids: string[]): RequestSpec[] =>
        ids.map((id) => ({
          method: 'POST',
          url: `${base}/v1/jobs`,
          headers: auth,
          body: jobBody(id),
        }));
      const presignRequests = (base: string, n: number): RequestSpec[] =>
        Array.from({ length: n }, () => ({
          method: 'POST',
          url: `${base}/v1/uploads`,
          headers: auth,
          body: presignBody,
        }));
      // Warm-up (JIT, pools, connections) of both sides, not measured.
      const warm = quick ? 100 : 300;
      await measure(
        world,
        ours,
        jobRequests(world.gatewayUrl, await preparedUploads(world, tenant.id, wav, warm)),
        log,
      );
      await measure(
        world,
        baseline,
        jobRequests(
          bare.url,
          Array.from({ length: warm }, () => randomUUID()),
        ),
        log,
      );
      await measure(world, ours, presignRequests(world.gatewayUrl, warm), log);
      await measure(world, baseline, presignRequests(bare.url, warm), log);

      const figures: Figure[] = [
        {
          id: 'job-create',
          title: 'POST /v1/jobs (upload already in S3), gateway process',
          baselineTitle: 'bare express: one INSERT + one confirmed publish',
          async ours() {
            const ids = await preparedUploads(world, tenant.id, wav, perRound);
            return measure(world, ours, jobRequests(world.gatewayUrl, ids), log);
          },
          async baseline() {
            const ids = Array.from({ length: perRound }, () => randomUUID());
            return measure(world, baseline, jobRequests(bare.url, ids), log);
          },
          checks: [
            { label: 'req/s ÷ baseline', value: (o, b) => o.rps! / b!.rps!, atLeast: 0.5 },
            { label: 'p99 ÷ baseline', value: (o, b) => o.p99Ms! / b!.p99Ms!, atMost: 2 },
            { label: 'failed requests', value: (o) => o.failed!, atMost: 0 },
            { label: 'server CPU ms/req (ours)', value: (o) => o.cpuMsPerReq! },
            { label: 'server CPU ms/req (baseline)', value: (_o, b) => b!.cpuMsPerReq! },
          ],
        },
        {
          id: 'presign',
          title: 'POST /v1/uploads (presigned PUT), gateway process',
          baselineTitle: 'bare express: a JSON answer of the same size',
          ours: () => measure(world, ours, presignRequests(world.gatewayUrl, perRound), log),
          baseline: () => measure(world, baseline, presignRequests(bare.url, perRound), log),
          checks: [
            { label: 'req/s ÷ baseline', value: (o, b) => o.rps! / b!.rps!, atLeast: 0.5 },
            { label: 'failed requests', value: (o) => o.failed!, atMost: 0 },
            { label: 'server CPU ms/req (ours)', value: (o) => o.cpuMsPerReq! },
          ],
        },
      ];
      return { figures, close: () => world.close() };
    } catch (error) {
      await world.close();
      throw error;
    }
  },
};
