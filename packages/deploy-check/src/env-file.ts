/**
 * An env file as docker compose reads it (`KEY=value` lines, `#` comments), plus the
 * `# KEY=value` lines that document optional settings left unset.
 */
export interface EnvFile {
  values: Record<string, string>;
  /** Keys that appear only commented out, as documentation. */
  documented: string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

export function parseEnvFile(text: string): EnvFile {
  const values: Record<string, string> = {};
  const documented: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = ASSIGNMENT.exec(line.replace(/^#\s*/, ''));
      if (m?.[1]) documented.push(m[1]);
      continue;
    }
    const m = ASSIGNMENT.exec(line);
    if (!m?.[1]) throw new Error(`not a KEY=value line: ${raw}`);
    // Quotes would be kept by some readers and stripped by others: refuse them.
    if (/^['"]/.test(m[2] ?? '')) throw new Error(`quoted value for ${m[1]}: leave it unquoted`);
    values[m[1]] = m[2] ?? '';
  }
  return { values, documented: documented.filter((k) => !(k in values)) };
}
