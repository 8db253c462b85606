import { basename } from 'node:path';
import type {
  JobEvent,
  TranscribeClient,
  TranscriptFormat,
  TranscriptJson,
  UploadContentType,
} from '@transcribe/client';
import type { Priority } from '@transcribe/contracts';
import { ExitCode, reportError } from './exit-codes.js';
import type { Output } from './output.js';
import { createProgress } from './progress.js';

export interface TranscribeArgs {
  /** Path of the recording to transcribe. */
  file: string;
  format: TranscriptFormat;
  language?: string;
  priority?: Priority;
  /** Declared media type; guessed from the extension when omitted. */
  contentType?: UploadContentType;
  /** Show progress on stderr. */
  progress: boolean;
}

export interface CommandDeps {
  client: TranscribeClient;
  stdout: Output;
  stderr: Output;
  /** Aborted on Ctrl-C: stop waiting (the job itself keeps running on the server). */
  signal?: AbortSignal;
}

/** Upload → job → live progress → transcript on stdout. Resolves with the exit code. */
export async function runTranscribe(args: TranscribeArgs, deps: CommandDeps): Promise<ExitCode> {
  const { client, stderr, signal } = deps;
  const progress = createProgress(stderr, args.progress);
  let jobId: string | undefined;
  try {
    let started = false;
    const upload = await client.uploadFile(args.file, {
      ...(args.contentType ? { contentType: args.contentType } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (sent, total) => {
        // The size is known once uploadFile has looked at the file: start the bar then.
        if (!started) progress.uploadStarted(basename(args.file), total);
        started = true;
        progress.uploadProgress(sent, total);
      },
    });
    progress.uploadFinished();
    const job = await client.createJob({
      uploadId: upload.uploadId,
      ...(args.language ? { language: args.language } : {}),
      ...(args.priority ? { priority: args.priority } : {}),
    });
    jobId = job.id;
    progress.jobCreated(job.id);
    const terminal = await client.followEvents(job, {
      onEvent: (event) => progress.jobEvent(event),
      ...(signal ? { signal } : {}),
    });
    progress.stop();
    return await finish(terminal, args.format, deps);
  } catch (error) {
    progress.stop();
    if (signal?.aborted) {
      stderr.write(
        jobId
          ? `interrupted; job ${jobId} continues: \`transcribe status ${jobId}\`, \`transcribe get ${jobId}\`\n`
          : 'interrupted\n',
      );
      return ExitCode.Interrupted;
    }
    const code = reportError(error, stderr);
    if (jobId) stderr.write(`job ${jobId} was created: \`transcribe status ${jobId}\`\n`);
    return code;
  }
}

async function finish(
  terminal: JobEvent,
  format: TranscriptFormat,
  deps: CommandDeps,
): Promise<ExitCode> {
  if (terminal.type === 'failed') {
    deps.stderr.write(
      `job ${terminal.jobId} failed: ${terminal.error.code}: ${terminal.error.message}\n`,
    );
    return ExitCode.JobFailed;
  }
  if (terminal.type === 'canceled') {
    deps.stderr.write(`job ${terminal.jobId} was canceled\n`);
    return ExitCode.JobFailed;
  }
  await printTranscript(deps, terminal.jobId, format);
  return ExitCode.Ok;
}

/** Writes a completed job's transcript to stdout (throws ApiError while it is not done). */
export async function printTranscript(
  deps: Pick<CommandDeps, 'client' | 'stdout' | 'signal'>,
  jobId: string,
  format: TranscriptFormat,
): Promise<void> {
  const opts = deps.signal ? { signal: deps.signal } : {};
  const transcript: string | TranscriptJson = await deps.client.getTranscript(jobId, format, opts);
  const text =
    typeof transcript === 'string' ? transcript : `${JSON.stringify(transcript, null, 2)}\n`;
  await write(deps.stdout, text.endsWith('\n') ? text : `${text}\n`);
}

/** Resolves once the chunk is flushed, so exiting right after loses nothing of a pipe. */
function write(out: Output, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}
