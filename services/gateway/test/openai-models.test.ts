// The OpenAI `model` name → engine table, and the response formats, without servers.
import { ModelAliases, gatewaySchema } from '@transcribe/config';
import type { TranscriptJson } from '@transcribe/contracts';
import {
  OpenAIDiarizedTranscription,
  OpenAITranscription,
  OpenAIVerboseTranscription,
} from '@transcribe/contracts';
import { renderTranscription } from '../src/openai-formats.js';
import { listModels, resolveModel } from '../src/openai-models.js';

describe('OPENAI_MODEL_ALIASES', () => {
  it('parses name=engine[:model] pairs', () => {
    expect(
      ModelAliases.parse(' whisper-1=sphinx , gpt-4o-transcribe=openai:gpt-4o-transcribe,,'),
    ).toEqual({
      'whisper-1': { engine: 'sphinx' },
      'gpt-4o-transcribe': { engine: 'openai', model: 'gpt-4o-transcribe' },
    });
  });

  it.each(['whisper-1', 'a=', '=sphinx', 'a=nope', 'a=openai:', 'a b=sphinx'])(
    'refuses %j',
    (value) => {
      expect(ModelAliases.safeParse(value).success).toBe(false);
    },
  );

  it('defaults to none', () => {
    const config = gatewaySchema.parse({ TOKEN_SECRET: 'x'.repeat(16), S3_BUCKET: 'bucket' });
    expect(config.OPENAI_MODEL_ALIASES).toEqual({});
    expect(config.SYNC_WAIT_S).toBe(600);
  });
});

describe('model resolution', () => {
  const settings = {
    engines: ['whisper-cpp', 'sphinx'] as const,
    openaiModelAliases: {
      'gpt-4o-transcribe': { engine: 'openai' as const, model: 'gpt-4o-transcribe' },
      fast: { engine: 'sphinx' as const },
    },
  };

  it('whisper-1 is the default engine unless aliased', () => {
    expect(resolveModel(settings, 'whisper-1')).toEqual({ engine: 'whisper-cpp' });
    expect(
      resolveModel(
        { ...settings, openaiModelAliases: { 'whisper-1': { engine: 'sphinx' } } },
        'whisper-1',
      ),
    ).toEqual({ engine: 'sphinx' });
  });

  it('our own names work, with a model', () => {
    expect(resolveModel(settings, 'sphinx')).toEqual({ engine: 'sphinx' });
    expect(resolveModel(settings, 'whisper-cpp:ggml-base.bin')).toEqual({
      engine: 'whisper-cpp',
      model: 'ggml-base.bin',
    });
    expect(resolveModel(settings, 'fast')).toEqual({ engine: 'sphinx' });
  });

  it('a name whose engine is not enabled, or no name we know, is undefined', () => {
    expect(resolveModel(settings, 'gpt-4o-transcribe')).toBeUndefined();
    expect(resolveModel(settings, 'openai:whisper-1')).toBeUndefined();
    expect(resolveModel(settings, 'whisper-2')).toBeUndefined();
    expect(resolveModel(settings, '__proto__')).toBeUndefined();
  });

  it('lists what resolves', () => {
    expect(
      listModels(settings)
        .map((m) => m.id)
        .sort(),
    ).toEqual(['fast', 'sphinx', 'whisper-1', 'whisper-cpp']);
  });
});

describe('response formats', () => {
  const transcript: TranscriptJson = {
    jobId: '00000000-0000-7000-8000-000000000000',
    text: 'ask not what your country',
    segments: [
      { start: 0, end: 1.5, text: 'ask not' },
      { start: 1.5, end: 3.2, text: 'what your country', speaker: 'B' },
    ],
    words: [{ start: 0, end: 0.5, word: 'ask' }],
    language: 'en',
    requestedLanguage: 'auto',
    languageSource: 'engine-default',
    durationS: 3.2,
    engine: 'sphinx',
    model: null,
    processingMs: 10,
    complete: true,
  };
  const render = (format: Parameters<typeof renderTranscription>[1]['format'], words = false) =>
    renderTranscription(transcript, { format, words });

  it('json: text and usage in seconds', () => {
    expect(OpenAITranscription.parse(render('json').body)).toEqual({
      text: transcript.text,
      usage: { type: 'duration', seconds: 4 },
    });
  });

  it('verbose_json: the language by name, words only when asked', () => {
    const plain = OpenAIVerboseTranscription.parse(render('verbose_json').body);
    expect(plain).toMatchObject({ language: 'english', duration: 3.2 });
    expect(plain.segments.map((s) => s.id)).toEqual([0, 1]);
    expect(plain.words).toBeUndefined();
    const worded = OpenAIVerboseTranscription.parse(render('verbose_json', true).body);
    expect(worded.words).toEqual([{ word: 'ask', start: 0, end: 0.5 }]);
  });

  it('diarized_json: speakers as given, A otherwise', () => {
    const body = OpenAIDiarizedTranscription.parse(render('diarized_json').body);
    expect(body.segments.map((s) => s.speaker)).toEqual(['A', 'B']);
  });

  it('text, srt and vtt are text', () => {
    expect(render('text')).toEqual({
      contentType: 'text/plain; charset=utf-8',
      body: `${transcript.text}\n`,
    });
    expect(render('srt').body).toMatch(/^1\n00:00:00,000 --> 00:00:01,500\nask not\n/);
    expect(render('vtt').body).toMatch(/^WEBVTT\n/);
  });
});
