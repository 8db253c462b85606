import { EngineModelSpec, type EngineModel } from '@transcribe/config';
import type { OpenAIModel } from '@transcribe/contracts';
import type { GatewaySettings } from './deps.js';

/** The name OpenAI's SDKs and tools send by default. */
export const WHISPER_1 = 'whisper-1';

/**
 * An OpenAI `model` name → the engine (and model) that does the work: an alias of
 * OPENAI_MODEL_ALIASES, `whisper-1` (the deployment's default engine unless aliased), or one
 * of our own names (`sphinx`, `whisper-cpp[:model]`, `openai:<model>`). Undefined: unknown,
 * or its engine is not enabled here.
 */
export function resolveModel(
  settings: Pick<GatewaySettings, 'engines' | 'openaiModelAliases'>,
  name: string,
): EngineModel | undefined {
  const aliases = settings.openaiModelAliases ?? {};
  const alias = Object.hasOwn(aliases, name) ? aliases[name] : undefined;
  const target =
    alias ??
    (name === WHISPER_1 ? { engine: settings.engines[0]! } : EngineModelSpec.safeParse(name).data);
  return target && settings.engines.includes(target.engine) ? target : undefined;
}

/** `GET /v1/models`: the enabled engines by our names, and every alias that resolves. */
export function listModels(
  settings: Pick<GatewaySettings, 'engines' | 'openaiModelAliases'>,
): OpenAIModel[] {
  const names = new Set<string>([
    ...settings.engines,
    WHISPER_1,
    ...Object.keys(settings.openaiModelAliases ?? {}),
  ]);
  return [...names]
    .filter((id) => resolveModel(settings, id) !== undefined)
    .map((id) => ({ id, object: 'model', created: 0, owned_by: 'transcribe' }));
}
