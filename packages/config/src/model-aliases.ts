import { z } from 'zod';
import { EngineName } from '@transcribe/contracts';

/** What an OpenAI `model` name stands for here: an engine and, optionally, its model. */
export interface EngineModel {
  engine: EngineName;
  model?: string;
}

const aliasName = z.string().regex(/^[\w.:-]{1,100}$/, 'letters, digits, ".", "_", ":" and "-"');

/** `sphinx`, `whisper-cpp:ggml-base.en.bin`, `openai:gpt-4o-transcribe`. */
export const EngineModelSpec = z
  .string()
  .trim()
  .transform((spec, ctx): EngineModel => {
    const colon = spec.indexOf(':');
    const engine = EngineName.safeParse(colon < 0 ? spec : spec.slice(0, colon));
    const model = colon < 0 ? undefined : spec.slice(colon + 1);
    if (!engine.success || model === '') {
      ctx.addIssue({
        code: 'custom',
        message: `"${spec}" is not <engine>[:<model>] with an engine of ${EngineName.options.join(', ')}`,
      });
      return z.NEVER;
    }
    return model === undefined ? { engine: engine.data } : { engine: engine.data, model };
  });

/**
 * `OPENAI_MODEL_ALIASES`: `name=engine[:model]` pairs, comma-separated, e.g.
 * `whisper-1=sphinx,gpt-4o-transcribe=openai:gpt-4o-transcribe`.
 */
export const ModelAliases = z.string().transform((value, ctx) => {
  const aliases: [string, EngineModel][] = [];
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    const name = aliasName.safeParse(eq < 0 ? '' : pair.slice(0, eq).trim());
    const target = EngineModelSpec.safeParse(eq < 0 ? '' : pair.slice(eq + 1));
    if (!name.success || !target.success) {
      ctx.addIssue({ code: 'custom', message: `"${pair}" is not name=engine[:model]` });
      return z.NEVER;
    }
    aliases.push([name.data, target.data]);
  }
  // fromEntries defines own properties: a name like `__proto__` stays a name.
  return Object.fromEntries(aliases) as Record<string, EngineModel>;
});
