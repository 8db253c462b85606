// Which engines a worker runs follows from its configuration alone: `sphinx` always
// (offline, from Debian), `openai` when a server or key is given, `whisper-cpp` when a
// model file is given. The gateway can call `enabledEngineNames` on the same variables
// to refuse, at job creation, an engine the deployment does not run.
import { engineLanguageSupport, type EngineLanguageConfig } from '@transcribe/config';
import type { EngineName } from '@transcribe/contracts';
import type { Engine } from './engine.js';
import { withLanguageCheck } from './language-guard.js';
import { createOpenAIEngine, type RetryInfo } from './openai.js';
import { createEngineSelector, type EngineSelector } from './selector.js';
import { createSphinxEngine } from './sphinx.js';
import { createResidentSphinxEngine } from './sphinx-resident.js';
import { createWhisperCppEngine, WhisperModelError } from './whisper-cpp.js';

/** The worker variables (packages/config workerSchema) that decide the engines. */
export interface EngineConfig extends EngineLanguageConfig {
  DEFAULT_ENGINE: EngineName;
  SPHINX_HMM?: string | undefined;
  SPHINX_LM?: string | undefined;
  SPHINX_DICT?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
  OPENAI_API_KEY?: string | undefined;
  OPENAI_MODEL: string;
  OPENAI_MAX_RETRIES: number;
  WHISPER_THREADS?: number | undefined;
  TMP_DIR?: string | undefined;
}

/** A configuration the worker cannot start with; the message names the variable to fix. */
export class EngineStartupError extends Error {
  override readonly name = 'EngineStartupError';
}

export function enabledEngineNames(
  config: Pick<EngineConfig, 'OPENAI_BASE_URL' | 'OPENAI_API_KEY' | 'WHISPER_MODEL_PATH'>,
): EngineName[] {
  const names: EngineName[] = ['sphinx'];
  if (config.OPENAI_BASE_URL || config.OPENAI_API_KEY) names.push('openai');
  if (config.WHISPER_MODEL_PATH) names.push('whisper-cpp');
  return names;
}

export interface ConfiguredEngines extends EngineSelector {
  /** Loads the models that load lazily (the resident PocketSphinx decoder) now. */
  warm(): Promise<void>;
  /** Frees loaded models. */
  close(): Promise<void>;
}

/**
 * Builds the enabled engines, loading models now: a missing or corrupt model, or a
 * DEFAULT_ENGINE that is not enabled, is an EngineStartupError before any job is taken.
 */
export async function createConfiguredEngines(
  config: EngineConfig,
  hooks: {
    onRetry?: (info: RetryInfo) => void;
    onNativeLog?: (level: string, text: string) => void;
    /**
     * The built sphinx-decoder.js: PocketSphinx then keeps its model loaded between
     * chunks (sphinx-resident.ts). Without it, each chunk runs `pocketsphinx_continuous`.
     */
    sphinxDecoder?: { script: string; concurrency: number };
  } = {},
): Promise<ConfiguredEngines> {
  const enabled = enabledEngineNames(config);
  if (!enabled.includes(config.DEFAULT_ENGINE)) {
    const needs =
      config.DEFAULT_ENGINE === 'openai'
        ? 'set OPENAI_BASE_URL or OPENAI_API_KEY'
        : 'set WHISPER_MODEL_PATH';
    throw new EngineStartupError(
      `DEFAULT_ENGINE=${config.DEFAULT_ENGINE} is not enabled on this worker: ${needs}`,
    );
  }
  const sphinxModel = { hmm: config.SPHINX_HMM, lm: config.SPHINX_LM, dict: config.SPHINX_DICT };
  const resident = hooks.sphinxDecoder
    ? createResidentSphinxEngine({
        ...sphinxModel,
        decoderScript: hooks.sphinxDecoder.script,
        keepIdle: hooks.sphinxDecoder.concurrency,
      })
    : undefined;
  const engines: Engine[] = [resident ?? createSphinxEngine(sphinxModel)];
  if (enabled.includes('openai')) {
    engines.push(
      createOpenAIEngine({
        baseURL: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        model: config.OPENAI_MODEL,
        maxRetries: config.OPENAI_MAX_RETRIES,
        tmpDir: config.TMP_DIR,
        onRetry: hooks.onRetry,
      }),
    );
  }
  let release = async (): Promise<void> => undefined;
  if (config.WHISPER_MODEL_PATH) {
    try {
      const whisper = await createWhisperCppEngine({
        modelPath: config.WHISPER_MODEL_PATH,
        threads: config.WHISPER_THREADS,
        onNativeLog: hooks.onNativeLog,
      });
      engines.push(whisper);
      release = () => whisper.release();
    } catch (error) {
      if (error instanceof WhisperModelError) {
        throw new EngineStartupError(`WHISPER_MODEL_PATH: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  // Each engine refuses the languages its model cannot transcribe, by the same rule the
  // gateway applied at job creation.
  const checked = engines.map((engine) =>
    withLanguageCheck(engine, (model) =>
      engineLanguageSupport(config, engine.name as EngineName, model),
    ),
  );
  return {
    ...createEngineSelector(checked, config.DEFAULT_ENGINE),
    warm: async () => resident?.warm(),
    close: async () => {
      await resident?.close();
      await release();
    },
  };
}
