import type { EnrichmentFormat, TranscriptFormat } from '@transcribe/client';
import { checkEnrichmentRequest } from './enrichment-files.js';
import { printEnrichment } from './enrichment-text.js';
import type { CommandDeps } from './command-deps.js';
import { ExitCode } from './exit-codes.js';
import { describeJob } from './output.js';
import { reportError } from './report-error.js';
import { printTranscript } from './transcript.js';

/** `transcribe status <jobId>`: the job, as text or (format json) as the API's JSON. */
export async function runStatus(
  jobId: string,
  format: TranscriptFormat,
  deps: CommandDeps,
): Promise<ExitCode> {
  try {
    const job = await deps.client.getJob(jobId, deps.signal ? { signal: deps.signal } : {});
    deps.stdout.write(format === 'json' ? `${JSON.stringify(job, null, 2)}\n` : describeJob(job));
    return ExitCode.Ok;
  } catch (error) {
    return reportError(error, deps.stderr);
  }
}

/** `transcribe get <jobId>`: the transcript of a completed job. */
export async function runGet(
  jobId: string,
  format: TranscriptFormat,
  deps: CommandDeps,
): Promise<ExitCode> {
  try {
    await printTranscript(deps, jobId, format);
    return ExitCode.Ok;
  } catch (error) {
    return reportError(error, deps.stderr);
  }
}

/** `transcribe get <jobId> --enrichment <key>`: one completed enrichment of a job. */
export async function runGetEnrichment(
  jobId: string,
  key: string,
  format: EnrichmentFormat | undefined,
  deps: CommandDeps,
): Promise<ExitCode> {
  try {
    await printEnrichment(deps, jobId, checkEnrichmentRequest(key, format), format);
    return ExitCode.Ok;
  } catch (error) {
    return reportError(error, deps.stderr);
  }
}
