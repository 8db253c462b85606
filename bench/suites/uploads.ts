// Suite `uploads` (issue 18): the 1,000-user flow. Every virtual user at once presigns an
// upload (POST /v1/uploads), PUTs a 100 KB WAV to the embedded S3 server through the
// presigned URL, and creates a job (POST /v1/jobs); each user is a tenant with its own API
// key. Targets: > 100 uploads/s, p95 of a user's whole flow < 5 s, 100 % success (any
// answer but 2xx, or a timeout, is a failure). The worker does not run: jobs stay queued.
// Baseline: the same client doing only the bare S3 PUTs of the same bytes (URLs presigned
// beforehand), which shows the S3 server's own ceiling.
import { seedTenant, type SeededTenant } from '../../packages/testkit/dist/index.js';
import type { FlowStep, LoadResult } from '../gateway/load-client.js';
import { startWorld } from '../gateway/world.js';
import { quantile, type Figure, type Sample, type Suite } from '../lib/harness.js';

// A user's steps: 0 presign, 1 PUT (the upload itself), 2 job creation; the baseline's
// flow is the PUT alone.
const stepP95 = (result: LoadResult, step: number) =>
  quantile(result.stepLatenciesMs?.[step] ?? [], 0.95);

const sampleOf = (result: LoadResult, users: number): Sample => {
  const wholeFlow = result.stepLatenciesMs?.length === 3;
  return {
    uploadsPerS: (result.ok / result.elapsedMs) * 1000,
    p50Ms: quantile(result.latenciesMs, 0.5),
    p95Ms: quantile(result.latenciesMs, 0.95),
    successPct: (result.ok / users) * 100,
    putP95Ms: stepP95(result, wholeFlow ? 1 : 0),
    ...(wholeFlow ? { presignP95Ms: stepP95(result, 0), createP95Ms: stepP95(result, 2) } : {}),
  };
};

export const uploadsSuite: Suite = {
  name: 'uploads',
  watchdogMin: { setup: 10, perRound: 10 },
  async setup({ quick, log }) {
    const users = quick ? 200 : 1000;
    const world = await startWorld();
    try {
      const wav = await world.wav(3.2);
      log(`  ${users} tenants, a ${wav.length}-byte WAV each`);
      const tenants: SeededTenant[] = [];
      for (let i = 0; i < users; i++) tenants.push(await seedTenant(world.env.db, `user-${i}`));
      const bodies = { wav: wav.toString('base64') };
      const run = async (flows: FlowStep[][]) => {
        const result = await world.load.run(
          { kind: 'flows', flows, bodies, timeoutMs: 60_000 },
          5 * 60_000,
        );
        if (result.failed) {
          log(
            `    ${result.failed} failed: ${JSON.stringify(result.failures)}; first: ${result.firstFailure}`,
          );
        }
        return sampleOf(result, flows.length);
      };
      const userFlow = (t: SeededTenant): FlowStep[] => {
        const headers = { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' };
        return [
          {
            method: 'POST',
            url: `${world.gatewayUrl}/v1/uploads`,
            headers,
            body: JSON.stringify({
              filename: 'talk.wav',
              contentType: 'audio/wav',
              sizeBytes: wav.length,
            }),
          },
          { method: 'PUT', fromPrevious: 'put-upload', bodyBase64: 'wav' },
          {
            method: 'POST',
            url: `${world.gatewayUrl}/v1/jobs`,
            headers,
            body: JSON.stringify({ uploadId: '{uploadId}', language: 'en' }),
            useUploadId: true,
          },
        ];
      };
      const barePuts = async () =>
        Promise.all(
          tenants.map(async (t) => {
            const { url, headers } = await world.storage.presignPut({
              key: `${t.id}/${crypto.randomUUID()}/talk.wav`,
              contentType: 'audio/wav',
              contentLength: wav.length,
              expiresInS: 900,
            });
            return [{ method: 'PUT', url, headers, bodyBase64: 'wav' }] satisfies FlowStep[];
          }),
        );
      // Warm-up of both paths, not measured.
      await run(tenants.slice(0, 50).map(userFlow));
      await run((await barePuts()).slice(0, 50));
      const figures: Figure[] = [
        {
          id: 'upload-flow',
          title: `${users} users at once: presign, PUT 100 KB, create the job`,
          baselineTitle: 'the same client: bare presigned S3 PUTs of the same bytes',
          ours: () => run(tenants.map(userFlow)),
          baseline: async () => run(await barePuts()),
          checks: [
            { label: 'uploads/s', value: (o) => o.uploadsPerS!, atLeast: 100 },
            { label: 'p95 flow ms', value: (o) => o.p95Ms!, atMost: 5000 },
            { label: 'success %', value: (o) => o.successPct!, atLeast: 100 },
            {
              label: 'uploads/s ÷ bare S3 PUTs',
              value: (o, b) => o.uploadsPerS! / b!.uploadsPerS!,
            },
            {
              // The original design's "upload < 5 s": the PUT alone, inside the flow.
              label: 'p95 of the PUT step ms',
              value: (o) => o.putP95Ms!,
            },
            { label: 'p95 of job creation ms', value: (o) => o.createP95Ms! },
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
