import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object; fields beyond these are read by path in the tests. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface Renderer {
  /** The command line used, e.g. `kubectl kustomize`. */
  command: string[];
  version: string;
}

/**
 * The real kustomize: the standalone `kustomize` binary when installed, else the one
 * built into kubectl (`kubectl kustomize`). Undefined when neither is there.
 */
export function findRenderer(): Renderer | undefined {
  const standalone = spawnSync('kustomize', ['version'], { encoding: 'utf8' });
  if (standalone.status === 0) {
    return { command: ['kustomize', 'build'], version: standalone.stdout.trim() };
  }
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const version = /Kustomize Version: (\S+)/.exec(kubectl.stdout ?? '')?.[1];
  if (kubectl.status === 0 && version) return { command: ['kubectl', 'kustomize'], version };
  return undefined;
}

export interface Rendered {
  objects: K8sObject[];
  /** What kustomize printed on stderr: deprecation warnings and the like. */
  warnings: string;
}

/** Renders a kustomization directory, as `kubectl apply -k <dir>` would send it. */
export async function render(renderer: Renderer, dir: string): Promise<Rendered> {
  const [cmd = '', ...args] = renderer.command;
  let out: { stdout: string; stderr: string };
  try {
    out = await promisify(execFile)(cmd, [...args, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`${renderer.command.join(' ')} ${dir} failed:\n${stderr}`);
  }
  const objects = parseAllDocuments(out.stdout)
    .map((doc) => {
      if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join('\n'));
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
  return { objects, warnings: out.stderr.trim() };
}
