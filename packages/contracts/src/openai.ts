import { z } from 'zod';

// OpenAI's audio API as the gateway speaks it (`/v1/audio/*`, `/v1/models`): the shapes its
// SDKs parse. Field names are OpenAI's (snake_case), not ours.

export const OpenAIErrorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBody>;

export const OpenAIModel = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
});
export type OpenAIModel = z.infer<typeof OpenAIModel>;

export const OpenAIModelList = z.object({ object: z.literal('list'), data: z.array(OpenAIModel) });

/** Seconds of audio, as OpenAI reports whisper-1 usage. */
export const OpenAIUsage = z.object({ type: z.literal('duration'), seconds: z.number() });

export const OpenAITranscription = z.object({ text: z.string(), usage: OpenAIUsage });

export const OpenAIVerboseTranscription = z.object({
  task: z.literal('transcribe'),
  /** The language's English name, e.g. `english`. */
  language: z.string(),
  duration: z.number(),
  text: z.string(),
  segments: z.array(
    z.object({
      id: z.number().int(),
      seek: z.number(),
      start: z.number(),
      end: z.number(),
      text: z.string(),
      tokens: z.array(z.number()),
      temperature: z.number(),
      avg_logprob: z.number(),
      compression_ratio: z.number(),
      no_speech_prob: z.number(),
    }),
  ),
  /** Only with `timestamp_granularities[]=word`. */
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).optional(),
  usage: OpenAIUsage,
});

export const OpenAISegmentEvent = z.object({
  type: z.literal('transcript.text.segment'),
  id: z.string(),
  start: z.number(),
  end: z.number(),
  text: z.string(),
  speaker: z.string(),
});

export const OpenAIDiarizedTranscription = z.object({
  task: z.literal('transcribe'),
  duration: z.number(),
  text: z.string(),
  segments: z.array(OpenAISegmentEvent),
  usage: OpenAIUsage,
});

/** `stream=true`: one `data: {json}` server-sent event each. */
export const OpenAIStreamEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('transcript.text.delta'), delta: z.string() }),
  OpenAISegmentEvent,
  z.object({ type: z.literal('transcript.text.done'), text: z.string(), usage: OpenAIUsage }),
]);
export type OpenAIStreamEvent = z.infer<typeof OpenAIStreamEvent>;
