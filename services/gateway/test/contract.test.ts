// The published contract and the operational surface: /openapi.json describes what the
// gateway really answers (every response of a real session validated against it), /docs
// serves the reference, security headers and CORS, and the sweeper's retention work.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { CreateJobResponse, PostUploadResponse } from '@transcribe/contracts';
import { join } from 'node:path';
import { sql } from 'kysely';
import { claimJob, completeJob } from '@transcribe/db';
import { createLogger, createRegistry } from '@transcribe/telemetry';
import { createGatewayApp } from '../src/app.js';
import { sweepOnce } from '../src/sweeper.js';
import { startGatewayHarness, type GatewayHarness } from './support/harness.js';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({ settings: { corsOrigins: ['https://app.example.com'] } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
}

/** A two-part multipart upload, started but never sent. */
function startMultipart() {
  return h.api('/v1/uploads', {
    method: 'POST',
    body: {
      filename: 'm.wav',
      contentType: 'audio/wav',
      sizeBytes: 6 * 1024 * 1024,
      method: 'multipart',
      partSizeBytes: 5 * 1024 * 1024,
    },
  });
}

async function completeJobNow(id: string) {
  const claimed = await claimJob(h.env.db, id, { leaseMs: 60_000, takeOver: false });
  await completeJob(h.env.db, {
    id,
    attempt: claimed!.attempts,
    text: 'ask not',
    segments: [{ start: 0, end: 1, text: 'ask not' }],
    durationS: 1,
    processingMs: 5,
    model: null,
  });
}

describe('OpenAPI document', () => {
  let doc: OpenApiDoc;

  beforeAll(async () => {
    const res = await h.api('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    doc = res.json as OpenApiDoc;
  });

  it('is OpenAPI 3.1 and documents every /v1 route the gateway serves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented).toEqual(
      expect.arrayContaining([
        'POST /v1/uploads',
        'GET /v1/uploads/{id}',
        'DELETE /v1/uploads/{id}',
        'POST /v1/uploads/{id}/parts',
        'POST /v1/uploads/{id}/complete',
        'POST /v1/jobs',
        'GET /v1/jobs',
        'POST /v1/jobs/upload',
        'GET /v1/jobs/{id}',
        'DELETE /v1/jobs/{id}',
        'POST /v1/jobs/{id}/cancel',
        'POST /v1/jobs/{id}/retry',
        'GET /v1/jobs/{id}/events',
        'GET /v1/jobs/{id}/transcript',
        'POST /v1/jobs/{id}/enrichments',
        'GET /v1/jobs/{id}/enrichments',
        'GET /v1/jobs/{id}/enrichments/{key}',
        'POST /v1/jobs/{id}/enrichments/{key}/cancel',
        'GET /v1/jobs/{id}/webhooks/deliveries',
        'GET /v1/webhooks',
        'PUT /v1/webhooks',
        'POST /v1/webhooks/secret',
        'POST /v1/jobs/{id}/webhooks/deliveries/{deliveryId}/redeliver',
      ]),
    );
  });

  it('documents every route the app has (a new route without docs fails here)', () => {
    interface Layer {
      route?: { path: string; methods: Record<string, boolean> };
      handle?: { stack?: Layer[] };
    }
    const app = createGatewayApp({ ...h.deps, registry: createRegistry('gateway') });
    const routes: string[] = [];
    const walk = (stack: Layer[]) => {
      for (const layer of stack) {
        if (layer.route) {
          for (const method of Object.keys(layer.route.methods)) {
            routes.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
          }
        } else if (layer.handle?.stack) walk(layer.handle.stack);
      }
    };
    walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
    const served = routes.filter((r) => r.includes(' /v1/'));
    expect(served.length).toBeGreaterThan(15);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('matches every response of a real session, successes and errors alike', async () => {
    // A session that touches every route and a spread of error codes.
    const upload = await h.uploadJfk();
    const created = CreateJobResponse.parse(
      (await h.createJob(upload.uploadId, h.keyA, { metadata: { a: 'b' } })).json,
    );
    await h.api(`/v1/uploads/${upload.uploadId}`);
    await h.api('/v1/jobs?limit=1');
    await h.api(`/v1/jobs/${created.id}`);
    await h.api(`/v1/jobs/${created.id}/events?after=0`);
    await h.api(`/v1/jobs/${created.id}/webhooks/deliveries`);
    await h.api('/v1/webhooks', { method: 'PUT', body: { url: 'https://hooks.example.com/t' } });
    await h.api('/v1/webhooks', { method: 'PUT', body: { url: 'gopher://x' } }); // 400
    await h.api('/v1/webhooks', { method: 'PUT', body: { url: 'http://169.254.169.254/' } }); // 400
    await h.api('/v1/webhooks/secret', { method: 'POST' });
    await h.api('/v1/webhooks');
    await h.api('/v1/usage');
    await h.api('/v1/usage?from=2026-02-01&to=2026-01-01'); // 400
    await h.api('/v1/queue');
    await h.api(`/v1/jobs/${created.id}/transcript`); // 409
    await h.api(`/v1/jobs/${created.id}/retry`, { method: 'POST' }); // 409
    await completeJobNow(created.id);
    await h.api(`/v1/jobs/${created.id}/transcript?format=json`);
    // No chat engine here: asking is 503; the rest answers like any other job route.
    await h.api(`/v1/jobs/${created.id}/enrichments`, {
      method: 'POST',
      body: { kind: 'summary' },
    });
    await h.api(`/v1/jobs/${created.id}/enrichments`);
    await h.api(`/v1/jobs/${created.id}/enrichments/summary?format=json`); // 404
    await h.api(`/v1/jobs/${created.id}/enrichments/poem`); // 400
    await h.api(`/v1/jobs/${created.id}/enrichments/summary/cancel`, { method: 'POST' }); // 404
    await h.api(`/v1/jobs/${created.id}/cancel`, { method: 'POST' }); // 409
    const second = CreateJobResponse.parse(
      (await h.createJob((await h.uploadJfk()).uploadId)).json,
    );
    await h.api(`/v1/jobs/${second.id}/cancel`, { method: 'POST' });
    await h.api(`/v1/jobs/${second.id}/retry`, { method: 'POST' });
    await h.api(`/v1/jobs/${second.id}`, { method: 'DELETE' });
    await h.api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 100, method: 'POST' },
    });
    await startMultipart();
    await h.api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 1e12 },
    }); // 413
    await h.api('/v1/uploads', { method: 'POST', body: { filename: 'a.wav' } }); // 400
    await h.api('/v1/jobs', { key: 'wrong-key' }); // 401
    await h.api('/v1/jobs/00000000-0000-7000-8000-000000000000'); // 404
    await h.createJob(
      (await h.uploadBytes('t.wav', 'audio/wav', Buffer.from('text, not audio'))).uploadId,
    ); // 415
    const form = new FormData();
    form.append('file', new Blob([h.jfk], { type: 'audio/wav' }), 'jfk.wav');
    await h.api('/v1/jobs/upload', { method: 'POST', rawBody: form });
    await h.api('/healthz', { key: null });
    await h.api('/readyz', { key: null });

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormatsPlugin.default(ajv);
    ajv.addSchema({ $id: 'openapi.json', components: doc.components });
    const templates = Object.keys(doc.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        params: (template.match(/\{/g) ?? []).length,
      }))
      // Literal segments win over parameters: /v1/jobs/upload is not /v1/jobs/{id}.
      .sort((a, b) => a.params - b.params);

    const checked = new Set<string>();
    for (const r of h.responses) {
      if (r.json === undefined || !r.contentType?.startsWith('application/json')) continue;
      const template = templates.find((t) => t.pattern.test(r.path))?.template;
      if (!template) continue; // unknown routes answer 404 not_found, tested elsewhere
      const operation = doc.paths[template]![r.method.toLowerCase()];
      if (!operation) continue;
      const response = operation.responses[String(r.status)];
      expect({
        route: `${r.method} ${template}`,
        status: r.status,
        documented: response !== undefined,
      }).toEqual({
        route: `${r.method} ${template}`,
        status: r.status,
        documented: true,
      });
      const schema = response!.content?.['application/json']?.schema;
      expect(schema).toBeDefined();
      const resolved = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'),
      );
      const validate = ajv.compile(resolved);
      if (!validate(r.json)) {
        throw new Error(
          `${r.method} ${r.path} ${r.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r.json)}`,
        );
      }
      checked.add(`${r.method} ${template} ${r.status}`);
    }
    // A negative control: the same schemas refuse a body that breaks the contract.
    const jobSchema =
      doc.paths['/v1/jobs/{id}']!.get!.responses['200']!.content!['application/json']!.schema;
    const validateJob = ajv.compile(
      JSON.parse(
        JSON.stringify(jobSchema).replaceAll('"#/components/', '"openapi.json#/components/'),
      ),
    );
    expect(validateJob({ ...created, status: 'finished' })).toBe(false);
    expect(validateJob({ ...created, id: 'x' })).toBe(false);
    // Make sure the session really covered successes and errors.
    expect([...checked]).toEqual(
      expect.arrayContaining([
        'POST /v1/jobs 202',
        'POST /v1/jobs 415',
        'GET /v1/jobs 200',
        'GET /v1/jobs/{id} 200',
        'GET /v1/jobs/{id} 404',
        'GET /v1/jobs/{id}/webhooks/deliveries 200',
        'GET /v1/webhooks 200',
        'PUT /v1/webhooks 200',
        'PUT /v1/webhooks 400',
        'POST /v1/webhooks/secret 201',
        'GET /v1/jobs/{id}/transcript 200',
        'GET /v1/jobs/{id}/transcript 409',
        'POST /v1/uploads 201',
        'POST /v1/uploads 400',
        'POST /v1/uploads 413',
        'POST /v1/jobs/{id}/cancel 200',
        'POST /v1/jobs/{id}/cancel 409',
        'POST /v1/jobs/{id}/retry 202',
        'POST /v1/jobs/upload 202',
        'GET /v1/jobs 401',
      ]),
    );
  });

  it('serves an API reference page at /docs from local assets', async () => {
    const page = await fetch(`${h.base}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    for (const asset of [
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/swagger-ui.css',
      '/docs/init.js',
    ]) {
      const res = await fetch(`${h.base}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      await res.arrayBuffer();
    }
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('logs', () => {
  it('carry the request id on each request line and never the API key', async () => {
    const lines: string[] = [];
    const logger = createLogger('gateway', 'info', {
      write: (line: string) => void lines.push(line),
    });
    const at = await h.listen({ ...h.deps, logger, registry: createRegistry('gateway') });
    const res = await h.api('/v1/jobs?limit=1', { headers: { 'x-request-id': 'req-logs-1' } }, at);
    expect(res.status).toBe(200);
    await h.api('/v1/jobs/nope', { key: 'tk_wrong_key_that_must_not_be_logged' }, at);
    const logged = lines.join('');
    expect(logged).toContain('"id":"req-logs-1"');
    expect(logged).not.toContain(h.keyA);
    expect(logged).not.toContain('tk_wrong_key_that_must_not_be_logged');
    // Request lines carry the request, not its headers (credentials least of all).
    expect(logged).not.toMatch(/authorization/i);
    expect(logged).toMatch(/"method":"GET","url":"\/v1\/jobs\?limit=1"/);
    expect(logged).toMatch(/"statusCode":200/);
  });
});

describe('web UI', () => {
  it('serves the page and its assets, and lets the page reach the notifier and S3 only', async () => {
    const at = await h.listen({
      ...h.deps,
      registry: createRegistry('gateway'),
      links: { ...h.deps.links, events: 'ws://events.example.com:8081' },
      settings: {
        ...h.deps.settings,
        uiDir: join(__dirname, '..', 'dist', 'ui'),
        storageOrigin: 'https://s3.example.com',
      },
    });
    const page = await fetch(`${at}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script =
      /<script type="module" crossorigin src="(\/ui\/assets\/[^"]+\.js)"><\/script>/.exec(
        html,
      )?.[1];
    const style = /<link rel="stylesheet" crossorigin href="(\/ui\/assets\/[^"]+\.css)">/.exec(
      html,
    )?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("connect-src 'self' ws://events.example.com:8081 https://s3.example.com");
    expect(csp).toContain("media-src 'self' blob: https://s3.example.com");
    expect(csp).toContain("script-src 'self'");
    for (const asset of [script!, style!]) {
      const res = await fetch(`${at}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      await res.arrayBuffer();
    }
    // Without a UI folder there is no page.
    expect((await fetch(`${h.base}/`)).status).toBe(404);
  });
});

describe('headers', () => {
  it('sets security headers on every answer', async () => {
    const res = await fetch(`${h.base}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers CORS preflights for configured origins only', async () => {
    const allowed = await fetch(`${h.base}/v1/jobs`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,idempotency-key',
      },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const other = await fetch(`${h.base}/v1/jobs`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('sweeper', () => {
  const sweep = (retentionDays = 30, batchSize?: number) =>
    sweepOnce({
      db: h.env.db,
      storage: h.storage,
      logger: createLogger('gateway', 'silent'),
      retentionDays,
      intervalMs: 1000,
      batchSize,
    });

  async function exists(key: string) {
    return (await h.storage.head(key)) !== undefined;
  }

  it('removes unused uploads past their claim window, object and row, and keeps fresh ones', async () => {
    const stale = await h.uploadJfk();
    const stale2 = await h.uploadJfk();
    const fresh = await h.uploadJfk();
    const staleKey = await h.objectKeyOf(stale.uploadId);
    await h.env.db
      .updateTable('uploads')
      .set({ expires_at: new Date(Date.now() - 2 * 3600_000) })
      .where('id', 'in', [stale.uploadId, stale2.uploadId])
      .execute();
    // Batches of one: the sweep goes on past a full batch until one comes back short.
    const result = await sweep(30, 1);
    expect(result.uploads).toBeGreaterThanOrEqual(2);
    expect(await exists(staleKey)).toBe(false);
    expect(
      await h.env.db.selectFrom('uploads').select('id').where('id', '=', stale.uploadId).execute(),
    ).toEqual([]);
    expect(await exists(await h.objectKeyOf(fresh.uploadId))).toBe(true);
  });

  it('aborts an abandoned multipart upload', async () => {
    const res = await startMultipart();
    const { uploadId } = res.json as { uploadId: string };
    await h.env.db
      .updateTable('uploads')
      .set({ expires_at: new Date(Date.now() - 2 * 3600_000) })
      .where('id', '=', uploadId)
      .execute();
    await sweep();
    expect(
      await h.env.db.selectFrom('uploads').select('id').where('id', '=', uploadId).execute(),
    ).toEqual([]);
  });

  it('purges finished jobs past retention with their objects, keeps recent and running ones', async () => {
    const old = CreateJobResponse.parse((await h.createJob((await h.uploadJfk()).uploadId)).json);
    const recent = CreateJobResponse.parse(
      (await h.createJob((await h.uploadJfk()).uploadId)).json,
    );
    const running = CreateJobResponse.parse(
      (await h.createJob((await h.uploadJfk()).uploadId)).json,
    );
    await completeJobNow(old.id);
    await completeJobNow(recent.id);
    const oldRow = await h.env.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', old.id)
      .executeTakeFirstOrThrow();
    await h.env.db
      .updateTable('jobs')
      .set({ finished_at: new Date(Date.now() - 31 * 86_400_000) })
      .where('id', '=', old.id)
      .execute();
    await sql`UPDATE jobs SET created_at = now() - interval '40 days' WHERE id = ${running.id}`.execute(
      h.env.db,
    );

    // Two sweepers at once (two gateway replicas) share the work without failing.
    const [a, b] = await Promise.all([sweep(), sweep()]);
    expect(a.jobs + b.jobs).toBe(1);
    const left = await h.env.db
      .selectFrom('jobs')
      .select('id')
      .where('id', 'in', [old.id, recent.id, running.id])
      .execute();
    expect(left.map((r) => r.id).sort()).toEqual([recent.id, running.id].sort());
    expect(await exists(oldRow.object_key)).toBe(false);
    expect(
      await h.env.db.selectFrom('job_events').select('seq').where('job_id', '=', old.id).execute(),
    ).toEqual([]);
    // Retention 0 keeps everything.
    await h.env.db
      .updateTable('jobs')
      .set({ finished_at: new Date(0) })
      .where('id', '=', recent.id)
      .execute();
    expect((await sweep(0)).jobs).toBe(0);
  });
});

describe('POST policy', () => {
  it('binds key, content type and exact size in the policy', async () => {
    const res = await h.api('/v1/uploads', {
      method: 'POST',
      body: { filename: 'a.wav', contentType: 'audio/wav', sizeBytes: 1234, method: 'POST' },
    });
    const upload = PostUploadResponse.parse(res.json);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy!, 'base64').toString()) as {
      expiration: string;
      conditions: unknown[];
    };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['eq', '$Content-Type', 'audio/wav'],
        ['content-length-range', 1234, 1234],
        { key: await h.objectKeyOf(upload.uploadId) },
      ]),
    );
    expect(new Date(policy.expiration).getTime()).toBeLessThanOrEqual(Date.now() + 301_000);
  });
});
