import { InvalidArgumentError } from 'commander';
import {
  Language,
  Metadata,
  ModelName,
  WebhookUrl,
  type CreateJobRequest,
  type EngineName,
  type Priority,
} from '@transcribe/contracts';
import { parseEnrichFlag } from './enrichment-files.js';
import { UsageError } from './exit-codes.js';

/** The job options as commander hands them over, before they are checked. */
export interface JobFlags {
  language?: string;
  engine?: EngineName;
  model?: string;
  priority?: Priority;
  webhook?: string;
  metadata?: Record<string, string>;
  /** `--enrich clean,summary,translate:de`. */
  enrich?: string;
}

/** What every job of one `transcribe` run is created with (all but the upload). */
export type JobOptions = Omit<CreateJobRequest, 'uploadId'>;

/** The part of a zod schema used here. */
interface Checkable<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } };
}

/** `value` checked with the contract's schema, or a usage error naming the flag. */
function check<T>(schema: Checkable<T>, value: unknown, flag: string, shown: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const reason = parsed.error.issues[0]?.message ?? 'not accepted';
  throw new UsageError(`invalid ${flag}${shown ? ` ${shown}` : ''}: ${reason}`);
}

/**
 * Checks the flags against the same zod contracts the gateway applies, so a typo is exit
 * code 2 before anything is uploaded rather than a 400 after.
 */
export function jobOptionsFrom(flags: JobFlags): JobOptions {
  const options: JobOptions = {};
  if (flags.language !== undefined)
    options.language = check(Language, flags.language, '--language', `"${flags.language}"`);
  if (flags.engine !== undefined) options.engine = flags.engine;
  if (flags.model !== undefined)
    options.model = check(ModelName, flags.model, '--model', `"${flags.model}"`);
  if (flags.priority !== undefined) options.priority = flags.priority;
  if (flags.webhook !== undefined)
    options.webhookUrl = check(WebhookUrl, flags.webhook, '--webhook', `"${flags.webhook}"`);
  if (flags.metadata !== undefined)
    options.metadata = check(Metadata, flags.metadata, '--metadata', '');
  if (flags.enrich !== undefined) options.enrich = parseEnrichFlag(flags.enrich);
  return options;
}

/**
 * commander's parser for a repeatable `--metadata key=value`: collects the pairs (the first
 * `=` splits, so values may contain `=`); a later pair with the same key wins.
 */
export function collectMetadata(
  pair: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const at = pair.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value, e.g. --metadata customer=acme');
  return { ...previous, [pair.slice(0, at)]: pair.slice(at + 1) };
}
