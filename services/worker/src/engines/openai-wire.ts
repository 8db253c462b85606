// The parts of OpenAI's `/v1/audio/transcriptions` wire format this engine relies on,
// checked with zod: self-hosted "compatible" servers differ in what they fill in.
import { z } from 'zod';

/** `response_format=json`: what gpt-4o(-mini)-transcribe answer, and the fallback. */
export const TranscriptionJson = z.object({ text: z.string() });

/** `response_format=verbose_json`: whisper-1 and most self-hosted servers. */
export const TranscriptionVerbose = z.object({
  text: z.string(),
  duration: z.coerce.number().optional(),
  language: z.string().optional(),
  // Some servers send `null` for "no segments".
  segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).nullish(),
});
export type TranscriptionVerbose = z.infer<typeof TranscriptionVerbose>;

export type ResponseFormat = 'json' | 'verbose_json';

/**
 * OpenAI's gpt-4o transcription models refuse `verbose_json` (400, param
 * `response_format`); other models are asked for it and fall back on that refusal.
 */
export function preferredFormat(model: string): ResponseFormat {
  return /^gpt-4o/.test(model) ? 'json' : 'verbose_json';
}

/** OpenAI's API wants ISO-639-1 (`en`); the job may say `en-US` or `auto`. */
export function apiLanguage(language: string): string | undefined {
  if (!language || language === 'auto') return undefined;
  return language.split('-')[0]?.toLowerCase();
}
