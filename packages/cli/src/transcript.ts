import type { TranscribeClient, TranscriptFormat, TranscriptJson } from '@transcribe/client';
import type { CommandDeps } from './command-deps.js';
import type { Output } from './output.js';

/** A completed job's transcript as the text to print or save, ending with a newline. */
export async function transcriptText(
  client: TranscribeClient,
  jobId: string,
  format: TranscriptFormat,
  signal?: AbortSignal,
): Promise<string> {
  const opts = signal ? { signal } : {};
  const transcript: string | TranscriptJson = await client.getTranscript(jobId, format, opts);
  const text =
    typeof transcript === 'string' ? transcript : `${JSON.stringify(transcript, null, 2)}\n`;
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Writes a completed job's transcript to stdout (throws ApiError while it is not done). */
export async function printTranscript(
  deps: Pick<CommandDeps, 'client' | 'stdout' | 'signal'>,
  jobId: string,
  format: TranscriptFormat,
): Promise<void> {
  await writeOut(deps.stdout, await transcriptText(deps.client, jobId, format, deps.signal));
}

/** Resolves once the chunk is flushed, so exiting right after loses nothing of a pipe. */
export function writeOut(out: Output, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}
