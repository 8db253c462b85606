import { mkdir, writeFile } from 'node:fs/promises';
import {
  createSettlementTracker,
  type JobEvent,
  type Settlement,
  type TranscriptFormat,
  type UploadContentType,
} from '@transcribe/client';
import type { CommandDeps } from './command-deps.js';
import { enrichmentOutputs, type EnrichmentOutput } from './enrichment-files.js';
import { enrichmentText } from './enrichment-text.js';
import { ExitCode, worstExitCode } from './exit-codes.js';
import type { JobOptions } from './job-options.js';
import { createProgressBoard, type ProgressReporter } from './progress.js';
import { describeError } from './report-error.js';
import { outputPaths, type FileOutputs } from './transcript-files.js';
import { transcriptText, writeOut } from './transcript.js';

export interface TranscribeFilesArgs {
  /** Paths of the recordings, one job each. */
  files: readonly string[];
  format: TranscriptFormat;
  /** Options every job is created with (language, engine, model, webhook…). */
  job: JobOptions;
  /** Declared media type of every file; guessed from each extension when omitted. */
  contentType?: UploadContentType;
  /** Show progress on stderr. */
  progress: boolean;
  /**
   * Write `<name>.<format>` files here instead of printing the transcripts, and each
   * enrichment beside its transcript (see outputPaths).
   */
  outputDir?: string;
}

/**
 * Files uploading at once. The jobs themselves all run in parallel on the server, but a
 * hundred simultaneous uploads would only split the same uplink a hundred ways.
 */
const UPLOADS_AT_ONCE = 4;

interface FileResult {
  code: ExitCode;
  /** The transcript, when it is to be printed. */
  text?: string;
  /** Completed enrichments, when they are to be printed: after the transcript, in order asked. */
  enrichments?: { key: string; text: string }[];
}

/**
 * Upload → job → live progress → transcript, for each file at once (up to
 * {@link UPLOADS_AT_ONCE} uploading). Transcripts go to stdout in the order the files were
 * given once all are done (under a `==> file <==` header when there are several), or into
 * `outputDir` as each finishes. Resolves with the worst exit code of the files.
 */
export async function runTranscribeFiles(
  args: TranscribeFilesArgs,
  deps: CommandDeps,
): Promise<ExitCode> {
  const enrichments = enrichmentOutputs(args.job.enrich ?? [], args.format);
  const outputs = args.outputDir
    ? outputPaths(args.files, args.outputDir, args.format, enrichments)
    : undefined;
  if (args.outputDir) await mkdir(args.outputDir, { recursive: true });
  const board = createProgressBoard(deps.stderr, args.progress, args.files);
  const slots = createSlots(UPLOADS_AT_ONCE);
  let results: FileResult[];
  try {
    results = await Promise.all(
      args.files.map((file, i) =>
        transcribeFile(file, args, deps, {
          progress: board.file(i),
          acquireUpload: slots,
          enrichments,
          ...(outputs ? { outputs: outputs[i]! } : {}),
        }),
      ),
    );
  } finally {
    // Bars first, then stdout: a transcript written between redraws would be torn.
    board.stop();
  }
  // Headers like head(1)'s whenever stdout holds more than one text.
  const labelled = args.files.length > 1 || enrichments.length > 0;
  let first = true;
  const print = async (title: string, text: string) => {
    const header = labelled ? `${first ? '' : '\n'}==> ${title} <==\n` : '';
    first = false;
    await writeOut(deps.stdout, `${header}${text}`);
  };
  for (const [i, result] of results.entries()) {
    if (result.text !== undefined) await print(args.files[i]!, result.text);
    for (const e of result.enrichments ?? []) await print(`${args.files[i]} [${e.key}]`, e.text);
  }
  return worstExitCode(results.map((r) => r.code));
}

interface FileContext {
  progress: ProgressReporter;
  /** Waits for an upload slot (calling `onWait` if it has to); resolves with its release. */
  acquireUpload(onWait: () => void): Promise<() => void>;
  /** The enrichments asked for, each with the format it is saved in. */
  enrichments: readonly EnrichmentOutput[];
  /** Where the outputs go; undefined: printed. */
  outputs?: FileOutputs;
}

async function transcribeFile(
  file: string,
  args: TranscribeFilesArgs,
  { client, signal }: CommandDeps,
  ctx: FileContext,
): Promise<FileResult> {
  const { progress } = ctx;
  const reqOpts = signal ? { signal } : {};
  let jobId: string | undefined;
  try {
    const release = await ctx.acquireUpload(() => progress.waiting());
    let upload;
    try {
      let started = false;
      upload = await client.uploadFile(file, {
        ...(args.contentType ? { contentType: args.contentType } : {}),
        ...reqOpts,
        onProgress: (sent, total) => {
          // The size is known once uploadFile has looked at the file: start the bar then.
          if (!started) progress.uploadStarted(total);
          started = true;
          progress.uploadProgress(sent, total);
        },
      });
    } finally {
      release();
    }
    progress.uploadFinished();
    const job = await client.createJob({ uploadId: upload.uploadId, ...args.job }, reqOpts);
    jobId = job.id;
    progress.jobCreated(job.id);
    // With enrichments the wait goes on past the job's `completed` until each has ended.
    const tracker = createSettlementTracker(job.enrichments.map((e) => e.key));
    let settlement: Settlement | undefined;
    const terminal = await client.followEvents(job, {
      onEvent: (event) => progress.jobEvent(event),
      ...(ctx.enrichments.length > 0
        ? { until: (event: JobEvent) => (settlement = tracker.observe(event)) !== undefined }
        : {}),
      ...reqOpts,
    });
    return await finish(
      settlement ?? { job: terminal, enrichments: new Map() },
      args,
      client,
      signal,
      ctx,
    );
  } catch (error) {
    if (signal?.aborted) {
      progress.note(
        jobId
          ? `interrupted; job ${jobId} continues: \`transcribe status ${jobId}\`, \`transcribe get ${jobId}\``
          : 'interrupted',
      );
      return { code: ExitCode.Interrupted };
    }
    const { code, message } = describeError(error);
    progress.note(`error: ${message}`);
    if (jobId) progress.note(`job ${jobId} was created: \`transcribe status ${jobId}\``);
    return { code };
  }
}

async function finish(
  settlement: Settlement,
  args: TranscribeFilesArgs,
  client: CommandDeps['client'],
  signal: AbortSignal | undefined,
  ctx: FileContext,
): Promise<FileResult> {
  const terminal = settlement.job;
  if (terminal.type === 'failed') {
    const { code, message } = terminal.error;
    ctx.progress.note(`job ${terminal.jobId} failed: ${code}: ${message}`);
    return { code: ExitCode.JobFailed };
  }
  if (terminal.type === 'canceled') {
    ctx.progress.note(`job ${terminal.jobId} was canceled`);
    return { code: ExitCode.JobFailed };
  }
  const text = await transcriptText(client, terminal.jobId, args.format, signal);
  if (ctx.outputs) {
    await writeFile(ctx.outputs.transcript, text);
    ctx.progress.note(`wrote ${ctx.outputs.transcript}`);
  }
  // A failed or canceled enrichment is the file's failure (exit 1); the others are kept.
  let code: ExitCode = ExitCode.Ok;
  const printed: { key: string; text: string }[] = [];
  for (const [i, asked] of ctx.enrichments.entries()) {
    const end = settlement.enrichments.get(asked.key);
    if (end?.type !== 'enrichment.completed') {
      code = ExitCode.JobFailed;
      ctx.progress.note(
        end?.type === 'enrichment.failed'
          ? `${asked.key} failed: ${end.error.code}: ${end.error.message}`
          : `${asked.key} was canceled`,
      );
      continue;
    }
    const result = await enrichmentText(client, terminal.jobId, asked.key, asked.format, signal);
    const path = ctx.outputs?.enrichments[i]?.path;
    if (path === undefined) printed.push({ key: asked.key, text: result });
    else {
      await writeFile(path, result);
      ctx.progress.note(`wrote ${path}`);
    }
  }
  if (ctx.outputs) return { code };
  return { code, text, ...(printed.length > 0 ? { enrichments: printed } : {}) };
}

/** A counting semaphore: at most `n` holders; the rest wait in order. */
function createSlots(n: number): FileContext['acquireUpload'] {
  let free = n;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return async (onWait) => {
    if (free > 0) free -= 1;
    else {
      onWait();
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (!released) release();
      released = true;
    };
  };
}
