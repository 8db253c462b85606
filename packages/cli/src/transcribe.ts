import type { TranscriptFormat, UploadContentType } from '@transcribe/client';
import type { Priority } from '@transcribe/contracts';
import type { CommandDeps } from './command-deps.js';
import type { ExitCode } from './exit-codes.js';
import { runTranscribeFiles } from './transcribe-files.js';

export type { CommandDeps } from './command-deps.js';
export { printTranscript } from './transcript.js';

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

/**
 * Upload → job → live progress → transcript on stdout, for one file. Resolves with the
 * exit code. (Several files, and every job option: {@link runTranscribeFiles}.)
 */
export function runTranscribe(args: TranscribeArgs, deps: CommandDeps): Promise<ExitCode> {
  return runTranscribeFiles(
    {
      files: [args.file],
      format: args.format,
      job: {
        ...(args.language ? { language: args.language } : {}),
        ...(args.priority ? { priority: args.priority } : {}),
      },
      ...(args.contentType ? { contentType: args.contentType } : {}),
      progress: args.progress,
    },
    deps,
  );
}
