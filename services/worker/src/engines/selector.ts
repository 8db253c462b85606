import { PermanentJobError } from '../errors.js';
import type { Engine } from './engine.js';

/** Picks the engine a job asked for, among those this worker was configured with. */
export interface EngineSelector {
  /** Names of the engines this worker can run, the default first. */
  readonly names: readonly string[];
  readonly defaultName: string;
  /**
   * The engine called `name` (empty/undefined: the default). A name this worker does not
   * have is a permanent `engine_unavailable` failure: retrying on the same fleet cannot help.
   */
  get(name?: string | null): Engine;
}

export function createEngineSelector(
  engines: readonly Engine[],
  defaultName: string = engines[0]?.name ?? '',
): EngineSelector {
  const byName = new Map(engines.map((e) => [e.name, e]));
  if (!byName.has(defaultName)) {
    throw new Error(
      `default engine '${defaultName}' is not configured on this worker (configured: ${[...byName.keys()].join(', ') || 'none'})`,
    );
  }
  const names = [defaultName, ...[...byName.keys()].filter((n) => n !== defaultName)];
  return {
    names,
    defaultName,
    get(name) {
      const engine = byName.get(name || defaultName);
      if (!engine) {
        throw new PermanentJobError(
          'engine_unavailable',
          `engine '${name}' is not enabled on this deployment (available: ${names.join(', ')})`,
        );
      }
      return engine;
    },
  };
}
