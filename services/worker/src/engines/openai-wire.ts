// The parts of OpenAI's `/v1/audio/transcriptions` wire format this engine relies on,
// checked with zod: self-hosted "compatible" servers differ in what they fill in.
import { z } from 'zod';

/** `response_format=json`: what gpt-4o(-mini)-transcribe answer, and the fallback. */
export const TranscriptionJson = z.object({ text: z.string() });

/**
 * `response_format=verbose_json` (whisper-1 and most self-hosted servers) and
 * `diarized_json` (gpt-4o-transcribe-diarize: segments with a `speaker`, no language).
 */
export const TranscriptionVerbose = z.object({
  text: z.string(),
  duration: z.coerce.number().optional(),
  language: z.string().optional(),
  // Some servers send `null` for "no segments" (or "no speaker", "no words").
  segments: z
    .array(
      z.object({
        start: z.number(),
        end: z.number(),
        text: z.string(),
        speaker: z.string().nullish(),
      }),
    )
    .nullish(),
  /** With `timestamp_granularities[]=word`; faster-whisper servers add a `probability`. */
  words: z
    .array(
      z.object({
        word: z.string(),
        start: z.number(),
        end: z.number(),
        probability: z.number().nullish(),
      }),
    )
    .nullish(),
});
export type TranscriptionVerbose = z.infer<typeof TranscriptionVerbose>;

export type ResponseFormat = 'json' | 'verbose_json' | 'diarized_json';

/**
 * What to ask a model for, by its name: a diarizing model (`…diarize…`, like OpenAI's
 * gpt-4o-transcribe-diarize) for `diarized_json`, the speakers; OpenAI's other gpt-4o
 * transcription models refuse anything but `json` (400, param `response_format`); other
 * models `verbose_json`, with word timings. A refused format falls back to `json`.
 */
export function preferredFormat(model: string): ResponseFormat {
  if (/diarize/i.test(model)) return 'diarized_json';
  return /^gpt-4o/.test(model) ? 'json' : 'verbose_json';
}

/** The request fields that go with a format. */
export function formatParams(format: ResponseFormat): {
  response_format: ResponseFormat;
  timestamp_granularities?: ('word' | 'segment')[];
  chunking_strategy?: 'auto';
} {
  if (format === 'verbose_json') {
    return { response_format: format, timestamp_granularities: ['segment', 'word'] };
  }
  // OpenAI wants a chunking strategy for diarizing anything over 30 s.
  if (format === 'diarized_json') return { response_format: format, chunking_strategy: 'auto' };
  return { response_format: format };
}

/** OpenAI's API wants ISO-639-1 (`en`); the job may say `en-US` or `auto`. */
export function apiLanguage(language: string): string | undefined {
  if (!language || language === 'auto') return undefined;
  return language.split('-')[0]?.toLowerCase();
}
