// docs/configuration.md is generated from the services' config schemas (packages/config):
// names, which services read them and defaults come from the zod schemas themselves, the
// meaning from each variable's doc comment in schemas.ts. A test regenerates it and fails
// when the file has drifted, so the reference can't fall behind the code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { z } from 'zod';

export interface ConfigVariable {
  name: string;
  services: string[];
  /** What the service uses when the variable is unset, as an operator would write it. */
  default: string;
  description: string;
}

/** Doc comment text of every UPPER_CASE property in a TypeScript source (the schemas). */
export function variableDocComments(sourceText: string): Map<string, string> {
  const source = ts.createSourceFile('schemas.ts', sourceText, ts.ScriptTarget.Latest, true);
  const docs = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      const name = node.name.text;
      if (/^[A-Z][A-Z0-9_]*$/.test(name)) {
        const comments = ts.getLeadingCommentRanges(sourceText, node.getFullStart()) ?? [];
        const text = comments
          .map((c) => sourceText.slice(c.pos, c.end))
          .filter((c) => c.startsWith('/**'))
          .map((c) =>
            c
              .replace(/^\/\*\*|\*\/$/g, '')
              .split('\n')
              .map((line) => line.replace(/^\s*\*\s?/, '').trim())
              .filter(Boolean)
              .join(' '),
          )
          .join(' ');
        if (text && !docs.has(name)) docs.set(name, text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return docs;
}

function describeDefault(field: z.ZodType): string {
  const parsed = field.safeParse(undefined);
  if (!parsed.success) return 'required';
  const value: unknown = parsed.data;
  if (value === undefined) return 'unset';
  if (value === '') return 'empty';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}

/** Every variable the schemas read, in the order they are first declared. */
export function configReference(
  schemas: Record<string, z.ZodObject>,
  docs: Map<string, string>,
): ConfigVariable[] {
  const byName = new Map<string, ConfigVariable>();
  for (const [service, schema] of Object.entries(schemas)) {
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const known = byName.get(name);
      if (known) {
        known.services.push(service);
        continue;
      }
      byName.set(name, {
        name,
        services: [service],
        default: describeDefault(field),
        description: docs.get(name) ?? '',
      });
    }
  }
  return [...byName.values()];
}

const escapeCell = (s: string) => s.replaceAll('|', '\\|');

export function renderConfigurationMarkdown(
  variables: ConfigVariable[],
  allServices: string[],
): string {
  const groups = new Map<string, ConfigVariable[]>();
  for (const v of variables) {
    const key = v.services.length === allServices.length ? 'every service' : v.services.join(', ');
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  const sections = [...groups].map(([services, vars]) =>
    [
      `## ${services[0]!.toUpperCase()}${services.slice(1)}`,
      '',
      '| variable | default | meaning |',
      '| --- | --- | --- |',
      ...vars.map(
        (v) => `| \`${v.name}\` | ${escapeCell(v.default)} | ${escapeCell(v.description)} |`,
      ),
    ].join('\n'),
  );
  return [
    '# Configuration',
    '',
    '<!-- Generated from packages/config/src/schemas.ts by `pnpm docs:config`; do not edit by hand. -->',
    '',
    'Environment only, validated when a service starts: a bad value stops it with exit code 2',
    'and one message naming every bad variable. An empty variable counts as unset.',
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
}

/** docs/configuration.md as the schemas in `root` describe it. */
export function generateConfigurationDoc(
  root: string,
  schemas: Record<string, z.ZodObject>,
): string {
  const source = readFileSync(join(root, 'packages/config/src/schemas.ts'), 'utf8');
  return renderConfigurationMarkdown(
    configReference(schemas, variableDocComments(source)),
    Object.keys(schemas),
  );
}
