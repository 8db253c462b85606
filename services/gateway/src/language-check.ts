import {
  languageAtCreation,
  primarySubtag,
  supportsLanguage,
  type EngineName,
  type LanguageSource,
  type LanguageSupport,
} from '@transcribe/contracts';
import { engineLanguageSupport } from '@transcribe/config';
import type { GatewaySettings } from './deps.js';
import { HttpError } from './http-error.js';

interface LanguageOptions {
  language: string;
  engine?: EngineName | undefined;
  model?: string | undefined;
}

/** What the job's engine (the default when it names none), with its model, can do. */
function supportFor(
  settings: GatewaySettings,
  options: LanguageOptions,
): { engine: EngineName; support: LanguageSupport } {
  const engine = options.engine ?? settings.engines[0]!;
  const config = settings.engineLanguages ?? { SPHINX_LANGUAGE: 'en' };
  return { engine, support: engineLanguageSupport(config, engine, options.model) };
}

/**
 * A language the job's engine cannot transcribe is refused before anything is stored:
 * an English model given French audio would only produce confident nonsense.
 */
export function assertLanguageSupported(settings: GatewaySettings, options: LanguageOptions): void {
  const { engine, support } = supportFor(settings, options);
  if (supportsLanguage(support, options.language)) return;
  const model = options.model ? ` with model "${options.model}"` : '';
  throw new HttpError(
    400,
    'language_unsupported',
    `engine "${engine}"${model} cannot transcribe "${primarySubtag(options.language)}"; it supports: ${support.languages.join(', ')}`,
    { engine, language: options.language, supported: support.languages },
  );
}

/** The job row's resolved language columns at creation (null for `auto` left to detection). */
export function languageColumns(
  settings: GatewaySettings,
  options: LanguageOptions,
): { resolved_language: string | null; language_source: LanguageSource | null } {
  const known = languageAtCreation(options.language, supportFor(settings, options).support);
  return { resolved_language: known?.language ?? null, language_source: known?.source ?? null };
}
