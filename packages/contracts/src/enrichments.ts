import { z } from 'zod';
import { ErrorCode } from './errors.js';
import { Segment, Uuid } from './primitives.js';

/**
 * Enrichments (issue 15): work done on a finished transcript by a chat model — a
 * readable clean-up, a summary, lecture notes, a translation. Each is its own task with
 * its own status, progress and result, queued on its own lane (`transcribe.enrich`) so
 * it never delays transcription.
 */
export const ENRICHMENT_KINDS = ['clean', 'summary', 'notes', 'translate'] as const;
export const EnrichmentKind = z.enum(ENRICHMENT_KINDS);
export type EnrichmentKind = z.infer<typeof EnrichmentKind>;

/** Target language of a translation: a plain tag like `de` or `pt-BR` (no `auto`). */
export const TargetLanguage = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a language tag like "de" or "pt-BR"');

const KINDS_LIST = `"clean", "summary", "notes" or {"translate": "<language>"}`;

/**
 * What a client asks for: `"clean"`, `"summary"`, `"notes"` or `{"translate": "de"}`.
 * Unknown kinds are refused with the list of known ones.
 */
export const EnrichmentRequest = z.union(
  [
    z.enum(['clean', 'summary', 'notes'], {
      error: `unknown enrichment kind; expected ${KINDS_LIST}`,
    }),
    z.strictObject({ translate: TargetLanguage }),
  ],
  { error: `unknown enrichment kind; expected ${KINDS_LIST}` },
);
export type EnrichmentRequest = z.infer<typeof EnrichmentRequest>;

/**
 * An enrichment's key, unique per job: the kind, and for a translation its target
 * (`translate:de`). Used in URLs: `GET /v1/jobs/:id/enrichments/translate:de`.
 */
export const EnrichmentKey = z
  .string()
  .regex(
    /^(clean|summary|notes|translate:[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/,
    `unknown enrichment; expected clean, summary, notes or translate:<language>`,
  );
export type EnrichmentKey = z.infer<typeof EnrichmentKey>;

export function enrichmentKeyOf(request: EnrichmentRequest): EnrichmentKey {
  return typeof request === 'string' ? request : `translate:${request.translate}`;
}

export function parseEnrichmentKey(key: EnrichmentKey): {
  kind: EnrichmentKind;
  targetLanguage: string | null;
} {
  if (key.startsWith('translate:')) {
    return { kind: 'translate', targetLanguage: key.slice('translate:'.length) };
  }
  return { kind: EnrichmentKind.parse(key), targetLanguage: null };
}

/** A job's list of enrichments, as asked at creation: at most one of each key. */
export const EnrichList = z
  .array(EnrichmentRequest)
  .max(8)
  .refine(
    (list) => new Set(list.map(enrichmentKeyOf)).size === list.length,
    'each enrichment may be asked for once',
  );

export const EnrichmentStatus = z.enum(['queued', 'processing', 'completed', 'failed', 'canceled']);
export type EnrichmentStatus = z.infer<typeof EnrichmentStatus>;
export const TERMINAL_ENRICHMENT_STATUSES: readonly EnrichmentStatus[] = [
  'completed',
  'failed',
  'canceled',
];

export const TokenUsage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export const EnrichmentFormat = z.enum(['md', 'txt', 'json', 'srt', 'vtt']);
export type EnrichmentFormat = z.infer<typeof EnrichmentFormat>;

/** An enrichment as `GET /v1/jobs/:id` and `GET /v1/jobs/:id/enrichments` show it. */
export const Enrichment = z.object({
  id: Uuid,
  key: EnrichmentKey,
  kind: EnrichmentKind,
  /** Translations only. */
  targetLanguage: z.string().nullable(),
  status: EnrichmentStatus,
  /** 0–100: pieces done over pieces (a combine step counts as one more piece). */
  progress: z.number().min(0).max(100),
  piecesDone: z.number().int().nonnegative(),
  piecesTotal: z.number().int().nonnegative().nullable(),
  attempts: z.number().int().nonnegative(),
  error: z.object({ code: ErrorCode, message: z.string() }).nullable(),
  /** The chat model that produced it, as the engine named it. */
  model: z.string().nullable(),
  /** Version of the prompts module (prompts.ts) the result was made with. */
  promptVersion: z.string().nullable(),
  usage: TokenUsage.nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  processingMs: z.number().int().nullable(),
  /** The formats its result is served in (srt and vtt: timed kinds only). */
  formats: z.array(EnrichmentFormat),
  links: z.object({ self: z.string() }),
});
export type Enrichment = z.infer<typeof Enrichment>;

export const EnrichmentList = z.object({ data: z.array(Enrichment) });
export type EnrichmentList = z.infer<typeof EnrichmentList>;

/** `POST /v1/jobs/:id/enrichments`: one enrichment, in the same shape as the creation list. */
export const CreateEnrichmentRequest = z.strictObject({ kind: EnrichmentRequest });
export type CreateEnrichmentRequest = z.infer<typeof CreateEnrichmentRequest>;

/**
 * The stored result. Timed kinds (clean, translate) keep the transcript's segments with
 * their timings and new text; `paragraphStarts` are the indexes of segments that open a
 * paragraph. Summary and notes are markdown.
 */
export const EnrichmentResult = z.discriminatedUnion('shape', [
  z.object({
    shape: z.literal('timed'),
    segments: z.array(Segment),
    paragraphStarts: z.array(z.number().int().nonnegative()),
  }),
  z.object({ shape: z.literal('markdown'), markdown: z.string() }),
]);
export type EnrichmentResult = z.infer<typeof EnrichmentResult>;

/** `GET /v1/jobs/:id/enrichments/:key?format=json`. */
export const EnrichmentJson = Enrichment.extend({
  jobId: Uuid,
  text: z.string(),
  result: EnrichmentResult,
});
export type EnrichmentJson = z.infer<typeof EnrichmentJson>;

/**
 * A `transcribe.enrich` message, version 1. Like job messages it only points at the
 * task; any number of deliveries for one enrichment work on it together (each takes the
 * next free piece), so duplicates are harmless.
 */
export const EnrichMessage = z.object({
  v: z.literal(1),
  type: z.literal('enrichment'),
  enrichmentId: Uuid,
  jobId: Uuid,
  tenantId: Uuid,
});
export type EnrichMessage = z.infer<typeof EnrichMessage>;
