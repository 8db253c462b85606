// The combine step, run by the one worker holding the enrichment's lease once every
// piece is stored: timed kinds stitch the pieces' texts onto the transcript's segments
// (no model call); summary and notes reduce the partial markdowns with the model, in
// rounds of groups that fit the context, until one is left.
import type { EnrichmentResult, Segment } from '@transcribe/contracts';
import type { EnrichmentPieceRow } from '@transcribe/db';
import type { ChatEngine } from '../engines/openai-chat.js';
import {
  boundMarkdown,
  groupPartials,
  stitchTimed,
  type Budget,
  type MarkdownPieceOutput,
  type TimedPieceOutput,
} from './pieces.js';
import { reducePrompt, type ReduceTask } from './prompts.js';

export interface Combined {
  result: EnrichmentResult;
  text: string;
  /** The reduce requests' model and usage (none for stitching and a single piece). */
  model: string | null;
  usage: { promptTokens: number; completionTokens: number };
  requests: number;
}

export function stitchPieces(
  segments: readonly Segment[],
  pieces: readonly EnrichmentPieceRow[],
): Combined {
  const { result, text } = stitchTimed(
    segments,
    pieces.map((p) => ({ firstSegment: p.first_segment, output: p.output as TimedPieceOutput })),
  );
  return {
    result,
    text,
    model: null,
    usage: { promptTokens: 0, completionTokens: 0 },
    requests: 0,
  };
}

/**
 * Partial markdowns reduced to one. `request` runs one chat call (under the caller's
 * watch, which renews the combine lease and aborts on cancel).
 */
export async function reducePieces(
  kind: ReduceTask,
  pieces: readonly EnrichmentPieceRow[],
  budget: Budget,
  request: (
    run: (signal: AbortSignal) => ReturnType<ChatEngine['complete']>,
  ) => ReturnType<ChatEngine['complete']>,
  chat: ChatEngine,
): Promise<Combined> {
  let partials = pieces.map((p) => (p.output as MarkdownPieceOutput).markdown);
  const usage = { promptTokens: 0, completionTokens: 0 };
  let model: string | null = null;
  let requests = 0;
  while (partials.length > 1) {
    const next: string[] = [];
    for (const group of groupPartials(partials, budget.inputTokens)) {
      const prompt = reducePrompt(kind, group);
      const answer = await request((signal) =>
        chat.complete({ ...prompt, maxTokens: budget.outputTokens, signal }),
      );
      requests++;
      usage.promptTokens += answer.usage.promptTokens;
      usage.completionTokens += answer.usage.completionTokens;
      model = answer.model;
      next.push(answer.text);
    }
    partials = next;
  }
  const markdown = boundMarkdown(partials[0] ?? '');
  return { result: { shape: 'markdown', markdown }, text: markdown, model, usage, requests };
}
