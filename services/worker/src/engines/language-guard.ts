import { primarySubtag, supportsLanguage, type LanguageSupport } from '@transcribe/contracts';
import { PermanentJobError } from '../errors.js';
import type { Engine } from './engine.js';

/**
 * The engine, refusing a language it cannot transcribe before any work: the gateway
 * refuses such jobs at creation, but a job queued before a model changed, or by a gateway
 * configured differently, must not be run through the wrong model. Retrying cannot help,
 * so it is a permanent `language_unsupported` failure.
 */
export function withLanguageCheck(
  engine: Engine,
  supportFor: (model: string | null | undefined) => LanguageSupport,
): Engine {
  return {
    name: engine.name,
    transcribe(wavFile, options, onProgress) {
      const support = supportFor(options.model);
      if (!supportsLanguage(support, options.language)) {
        return Promise.reject(
          new PermanentJobError(
            'language_unsupported',
            `engine '${engine.name}' cannot transcribe '${primarySubtag(options.language)}'; it supports: ${support.languages.join(', ')}`,
          ),
        );
      }
      return engine.transcribe(wavFile, options, onProgress);
    },
  };
}
