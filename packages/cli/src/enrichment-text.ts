import type { EnrichmentFormat, EnrichmentJson, TranscribeClient } from '@transcribe/client';
import type { CommandDeps } from './command-deps.js';
import { writeOut } from './transcript.js';

/**
 * A completed enrichment as the text to print or save, ending with a newline; without a
 * format, the gateway's default for its kind (md for summary and notes, txt otherwise).
 */
export async function enrichmentText(
  client: TranscribeClient,
  jobId: string,
  key: string,
  format?: EnrichmentFormat,
  signal?: AbortSignal,
): Promise<string> {
  const opts = signal ? { signal } : {};
  const result: string | EnrichmentJson = await client.getEnrichment(jobId, key, format, opts);
  const text = typeof result === 'string' ? result : `${JSON.stringify(result, null, 2)}\n`;
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}

/** `transcribe get <jobId> --enrichment <key>`: one enrichment to stdout. */
export async function printEnrichment(
  deps: Pick<CommandDeps, 'client' | 'stdout' | 'signal'>,
  jobId: string,
  key: string,
  format?: EnrichmentFormat,
): Promise<void> {
  await writeOut(deps.stdout, await enrichmentText(deps.client, jobId, key, format, deps.signal));
}
