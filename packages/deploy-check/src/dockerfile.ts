/** One instruction of a Dockerfile, continuation lines joined, `--flags` split off. */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  /** Arguments: the JSON array of the exec form, else whitespace-separated words. */
  args: string[];
  /** The text after the keyword and its flags, as written. */
  raw: string;
}

export interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/**
 * Parses the subset of Dockerfile syntax this repo uses: line continuations, comments,
 * parser directives, `--flag=value` options and exec-form JSON arrays. Not heredocs.
 */
export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) continue;
    if (trimmed.endsWith('\\')) {
      current += trimmed.slice(0, -1) + ' ';
      continue;
    }
    current += trimmed;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const instruction = parseInstruction(line);
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = instruction.args;
      stages.push({
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        from: substitute(from, globalArgs),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before FROM`);
      const [key = '', value = ''] = (instruction.args[0] ?? '').split('=');
      globalArgs[key] = value;
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function parseInstruction(line: string): Instruction {
  const keyword = /^\S+/.exec(line)?.[0] ?? '';
  let rest = line.slice(keyword.length).trim();
  const flags: Record<string, string> = {};
  const FLAG = /^--([a-z-]+)(?:=(\S*))?\s+/;
  for (let m = FLAG.exec(rest); m; m = FLAG.exec(rest)) {
    flags[m[1] as string] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  // HEALTHCHECK's options are followed by a CMD in either form.
  const args =
    keyword.toUpperCase() === 'HEALTHCHECK' && /^CMD\s/i.test(rest)
      ? ['CMD', ...splitArgs(rest.slice(3).trim())]
      : splitArgs(rest);
  return { keyword: keyword.toUpperCase(), flags, args, raw: rest };
}

/** The exec form's JSON array, else whitespace-separated words (the shell form). */
function splitArgs(rest: string): string[] {
  return rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/).filter(Boolean);
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => vars[name] ?? '');
}

/** The stage named `name` and every stage it is built FROM, nearest first. */
export function stageChain(file: Dockerfile, name: string): Stage[] {
  const chain: Stage[] = [];
  for (let stage = file.stages.find((s) => s.name === name); stage;) {
    chain.push(stage);
    const base = stage.from;
    stage = file.stages.find((s) => s.name === base);
  }
  return chain;
}

/** The last value an instruction takes along a stage chain (USER, CMD, HEALTHCHECK, …). */
export function effective(chain: Stage[], keyword: string): Instruction | undefined {
  for (const stage of chain) {
    const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether .dockerignore excludes `path` (relative, `/`-separated) from the build context:
 * Go filepath.Match patterns plus `**`, a pattern excluding a folder excludes its contents,
 * the last matching line wins, `!` re-includes.
 */
export function isIgnored(path: string, dockerignore: string): boolean {
  let ignored = false;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (patternMatches(pattern, path)) ignored = !negate;
  }
  return ignored;
}

function patternMatches(pattern: string, path: string): boolean {
  const source = pattern
    .split('**')
    .map((part) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]'),
    )
    .join('.*');
  // `**/x` also matches `x` at the top.
  const re = new RegExp(`^(?:${source.replace(/^\.\*\//, '(?:.*/)?')})(?:/.*)?$`);
  return re.test(path);
}
