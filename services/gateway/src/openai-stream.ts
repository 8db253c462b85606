import type { Response } from 'express';
import { listJobChunks, type JobRow } from '@transcribe/db';
import type { OpenAIErrorBody, OpenAIStreamEvent, TranscriptJson } from '@transcribe/contracts';
import type { GatewayDeps } from './deps.js';
import { speakerOf, usageOf } from './openai-formats.js';

/**
 * `stream=true`: server-sent events as OpenAI sends them, `data: {json}` lines that its SDK
 * parses into `TranscriptionStreamEvent`s (`transcript.text.delta`, `transcript.text.segment`,
 * `transcript.text.done`); an `{error}` object makes the SDK throw. No `[DONE]`: OpenAI's
 * transcription stream ends after `transcript.text.done`.
 */
export interface TranscriptionStream {
  /** Sends the text of the chunks finished since the last call, in order, as deltas. */
  sendNewChunks(): Promise<void>;
  /** The rest of the text, the segments (when asked for) and `transcript.text.done`. */
  finish(transcript: TranscriptJson, options: { segments: boolean }): Promise<void>;
  fail(body: OpenAIErrorBody): void;
}

export function startTranscriptionStream(
  deps: Pick<GatewayDeps, 'db'>,
  res: Response,
  job: JobRow,
): TranscriptionStream {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  const send = (data: OpenAIStreamEvent | OpenAIErrorBody) => {
    if (!res.writableEnded) res.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  let nextChunk = 0;
  let sentText = '';
  // Chunk reads one at a time, so deltas go out once each and in order.
  let queue: Promise<void> = Promise.resolve();

  const sendNewChunks = () => {
    queue = queue.then(async () => {
      const chunks = await listJobChunks(deps.db, job.id);
      for (; nextChunk < chunks.length && chunks[nextChunk]!.done; nextChunk++) {
        const text = (chunks[nextChunk]!.text ?? '').trim();
        if (!text) continue;
        const delta = sentText ? ` ${text}` : text;
        sentText += delta;
        send({ type: 'transcript.text.delta', delta });
      }
    });
    return queue;
  };

  return {
    sendNewChunks,
    async finish(transcript, options) {
      await sendNewChunks().catch(() => undefined);
      // Stitching may differ in spacing from the chunks; the rest of the text goes out as is.
      if (transcript.text.startsWith(sentText) && transcript.text.length > sentText.length) {
        send({ type: 'transcript.text.delta', delta: transcript.text.slice(sentText.length) });
      }
      if (options.segments) {
        transcript.segments.forEach((s, i) =>
          send({
            type: 'transcript.text.segment',
            id: `seg_${i}`,
            start: s.start,
            end: s.end,
            text: s.text,
            speaker: speakerOf(s),
          }),
        );
      }
      send({ type: 'transcript.text.done', text: transcript.text, usage: usageOf(transcript) });
      res.end();
    },
    fail(body) {
      send(body);
      res.end();
    },
  };
}
