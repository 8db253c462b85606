import {
  WHISPER_LANGUAGE_NAMES,
  primarySubtag,
  type Segment,
  type TranscriptJson,
} from '@transcribe/contracts';
import { toSrt, toVtt } from './subtitles.js';

export const OPENAI_RESPONSE_FORMATS = [
  'json',
  'text',
  'srt',
  'vtt',
  'verbose_json',
  'diarized_json',
] as const;
export type OpenAIResponseFormat = (typeof OPENAI_RESPONSE_FORMATS)[number];

export interface RenderOptions {
  format: OpenAIResponseFormat;
  /** `timestamp_granularities[]` includes `word`. */
  words: boolean;
}

/** OpenAI bills whisper-1 by the second; we report the audio's length the same way. */
export function usageOf(transcript: Pick<TranscriptJson, 'durationS'>) {
  return { type: 'duration' as const, seconds: Math.ceil(transcript.durationS ?? 0) };
}

/** OpenAI names languages in English words ("english"); an unknown tag stays as it is. */
export function languageName(tag: string | null): string {
  if (!tag) return 'unknown';
  const code = primarySubtag(tag);
  return (WHISPER_LANGUAGE_NAMES as Record<string, string>)[code] ?? code;
}

/** Without diarization every segment is one speaker's, labelled as OpenAI labels its first. */
export const speakerOf = (segment: Segment): string => segment.speaker ?? 'A';

/** The answer's body and type for each `response_format`. */
export function renderTranscription(
  transcript: TranscriptJson,
  options: RenderOptions,
): { contentType: string; body: string | object } {
  const { text, segments } = transcript;
  const duration = transcript.durationS ?? segments.at(-1)?.end ?? 0;
  switch (options.format) {
    case 'text':
      return { contentType: 'text/plain; charset=utf-8', body: `${text}\n` };
    case 'srt':
      return { contentType: 'text/plain; charset=utf-8', body: toSrt(segments) };
    case 'vtt':
      return { contentType: 'text/plain; charset=utf-8', body: toVtt(segments) };
    case 'verbose_json':
      return {
        contentType: 'application/json',
        body: {
          task: 'transcribe',
          language: languageName(transcript.language),
          duration,
          text,
          segments: segments.map((s, id) => ({
            id,
            seek: 0,
            start: s.start,
            end: s.end,
            text: s.text,
            tokens: [],
            temperature: 0,
            avg_logprob: 0,
            compression_ratio: 0,
            no_speech_prob: 0,
          })),
          ...(options.words && {
            words: transcript.words.map((w) => ({ word: w.word, start: w.start, end: w.end })),
          }),
          usage: usageOf(transcript),
        },
      };
    case 'diarized_json':
      return {
        contentType: 'application/json',
        body: {
          task: 'transcribe',
          duration,
          text,
          segments: segments.map((s, i) => ({
            type: 'transcript.text.segment',
            id: `seg_${i}`,
            start: s.start,
            end: s.end,
            text: s.text,
            speaker: speakerOf(s),
          })),
          usage: usageOf(transcript),
        },
      };
    case 'json':
      return { contentType: 'application/json', body: { text, usage: usageOf(transcript) } };
  }
}
