// Which languages each engine can transcribe follows from configuration alone, so the
// gateway (refusing a job at creation) and the worker (checking again before any engine
// work) reach the same answer from the same variables.
import { basename } from 'node:path';
import { WHISPER_LANGUAGES, type EngineName, type LanguageSupport } from '@transcribe/contracts';

/** The variables (packages/config engineLanguages) that decide the engines' languages. */
export interface EngineLanguageConfig {
  SPHINX_LANGUAGE: string;
  WHISPER_MODEL_PATH?: string | undefined;
  OPENAI_LANGUAGES?: readonly string[] | undefined;
}

/**
 * whisper.cpp's English-only models are named `*.en.bin` (also quantized ones such as
 * `ggml-base.en-q5_1.bin`); every other Whisper model is multilingual.
 */
export function isEnglishOnlyWhisperModel(model: string): boolean {
  return /\.en(?:[-_][^.]*)?$/.test(basename(model).replace(/\.bin$/, ''));
}

/**
 * What `engine` can do about languages when running `model` (a job's model, else the
 * engine's default). sphinx: its one configured model, no detection. whisper-cpp: English
 * for `.en` models, else Whisper's list with detection. openai: OPENAI_LANGUAGES (default
 * Whisper's list); detection, since `verbose_json` answers name the language heard.
 */
export function engineLanguageSupport(
  config: EngineLanguageConfig,
  engine: EngineName,
  model?: string | null,
): LanguageSupport {
  switch (engine) {
    case 'sphinx':
      return { languages: [config.SPHINX_LANGUAGE], detects: false };
    case 'whisper-cpp': {
      const name = model || config.WHISPER_MODEL_PATH;
      return name && isEnglishOnlyWhisperModel(name)
        ? { languages: ['en'], detects: false }
        : { languages: WHISPER_LANGUAGES, detects: true };
    }
    case 'openai':
      return { languages: config.OPENAI_LANGUAGES ?? WHISPER_LANGUAGES, detects: true };
  }
}
