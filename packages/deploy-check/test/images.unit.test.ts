// The Dockerfile checked without a Docker engine: stages, users, health checks, commands
// and every path it copies from the build context.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewaySchema, notifierSchema, parseEnv, workerSchema } from '@transcribe/config';
import {
  effective,
  isIgnored,
  parseDockerfile,
  repoRoot,
  schemaKeys,
  stageChain,
} from '../src/index.js';

const root = repoRoot();
const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const minimalEnv = { TOKEN_SECRET: 'x'.repeat(32), S3_BUCKET: 'uploads' };

const services = [
  { name: 'gateway', schema: gatewaySchema, portVar: 'GATEWAY_PORT' },
  { name: 'worker', schema: workerSchema, portVar: 'METRICS_PORT' },
  { name: 'notifier', schema: notifierSchema, portVar: 'NOTIFIER_PORT' },
] as const;

describe('Dockerfile', () => {
  it('copies only paths that exist in the build context and are not .dockerignored', () => {
    const copies = dockerfile.stages.flatMap((s) =>
      s.instructions.filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.flags.from),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.slice(0, -1);
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) {
        const path = source.replace(/^\.\//, '');
        expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: true });
        expect({ path, ignored: isIgnored(path, dockerignore) }).toEqual({ path, ignored: false });
      }
    }
  });

  it('keeps secrets, installed modules, builds and VCS data out of the build context', () => {
    for (const path of ['.env', 'node_modules', 'services/worker/node_modules/x', '.git']) {
      expect({ path, ignored: isIgnored(path, dockerignore) }).toEqual({ path, ignored: true });
    }
    expect(isIgnored('packages/db/dist/migrate-cli.js', dockerignore)).toBe(true);
    // …but every package's sources are sent, or `tsc -b` in the build stage fails.
    for (const dir of ['packages', 'services']) {
      for (const pkg of readdirNames(join(root, dir))) {
        expect(isIgnored(`${dir}/${pkg}/src/index.ts`, dockerignore)).toBe(false);
        expect(isIgnored(`${dir}/${pkg}/package.json`, dockerignore)).toBe(false);
      }
    }
  });

  it('installs with the pinned pnpm from the lockfile and prunes to production dependencies', () => {
    const build = dockerfile.stages.find((s) => s.name === 'build');
    const runs = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.raw) ?? [];
    expect(runs.some((r) => /corepack enable/.test(r))).toBe(true);
    expect(runs.some((r) => /pnpm (fetch|install) --frozen-lockfile/.test(r))).toBe(true);
    const deploy = runs.find((r) => /pnpm .*deploy/.test(r)) ?? '';
    expect(deploy).toMatch(/--prod/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      packageManager?: string;
    };
    expect(pkg.packageManager).toMatch(/^pnpm@\d+\.\d+\.\d+/);
  });

  it.each(services)(
    '$name: a Node 22 slim image, non-root, health-checked, running dist/main.js',
    (svc) => {
      const chain = stageChain(dockerfile, svc.name);
      expect(chain.length).toBeGreaterThan(0);
      expect(chain.at(-1)?.from).toMatch(/^node:22(\.\d+)*-bookworm-slim$/);

      const user = effective(chain, 'USER')?.args[0] ?? 'root';
      const uid = user.split(':')[0];
      // Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
      expect(uid).toMatch(/^\d+$/);
      expect(Number(uid)).toBeGreaterThan(0);

      const cmd = effective(chain, 'CMD')?.args;
      expect(cmd).toEqual(['node', 'dist/main.js']);
      expect(existsSync(join(root, 'services', svc.name, 'src/main.ts'))).toBe(true);

      // The health check asks the port the service listens on, by the variable its schema reads.
      const defaults = parseEnv(svc.schema, minimalEnv) as Record<string, unknown>;
      expect(schemaKeys(svc.schema)).toContain(svc.portVar);
      const healthcheck = effective(chain, 'HEALTHCHECK');
      // Exec form: node itself, no shell and no curl (the slim image has neither need).
      expect(healthcheck?.args.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      const probe = healthcheck?.args[3] ?? '';
      expect(probe).toContain(`process.env.${svc.portVar}||${String(defaults[svc.portVar])}`);
      expect(probe).toContain('/healthz');
      expect(effective(chain, 'EXPOSE')?.args).toEqual([String(defaults[svc.portVar])]);

      // The runtime copies exactly this service's pruned deployment.
      const copy = chain.flatMap((s) => s.instructions).find((i) => i.keyword === 'COPY');
      expect(copy?.flags.from).toBe('build');
      expect(copy?.args[0]).toBe(`/out/${svc.name}`);
    },
  );

  it('gives the worker ffmpeg and PocketSphinx with its English model', () => {
    const installs = stageChain(dockerfile, 'worker')
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'RUN' && /apt-get install/.test(i.raw))
      .map((i) => i.raw)
      .join(' ');
    for (const pkg of ['ffmpeg', 'pocketsphinx', 'pocketsphinx-en-us']) {
      expect(installs.split(/\s+/)).toContain(pkg);
    }
    expect(installs).toMatch(/--no-install-recommends/);
    expect(installs).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it('runs migrations from the gateway image, which carries packages/db', () => {
    const gatewayPkg = JSON.parse(
      readFileSync(join(root, 'services/gateway/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    expect(gatewayPkg.dependencies['@transcribe/db']).toBeDefined();
    expect(existsSync(join(root, 'packages/db/src/migrate-cli.ts'))).toBe(true);
  });
});

function readdirNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}
