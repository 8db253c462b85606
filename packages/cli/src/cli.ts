import { Command, CommanderError, Option } from 'commander';
import {
  EngineName,
  EnrichmentFormat,
  Priority,
  TranscriptFormat as Formats,
  type TranscriptFormat,
} from '@transcribe/contracts';
import { addAdminCommands } from './admin.js';
import type { CommandDeps } from './command-deps.js';
import { clientFromOptions, DEFAULT_URL, type ConnectionFlags } from './connection.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { collectMetadata, type JobFlags } from './job-options.js';
import { addJobsCommands } from './jobs-commands.js';
import type { Output } from './output.js';

// `transcribe --help` loads this module, the command definitions it imports, commander and
// the contracts, nothing more: each command imports its implementation (and with it the
// SDK and ws, cli-progress, kysely and pg) when it runs. Keep static imports to what
// defining the commands needs; test/transcribe.test.ts checks what --help loads.

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Output;
  stderr: Output;
  signal?: AbortSignal;
}

/** The program's options: the transcription's, and the connection's (shared by commands). */
export interface GlobalOptions extends ConnectionFlags, JobFlags {
  /** A transcript format, or (`get --enrichment`) an enrichment's: md is for those only. */
  format: TranscriptFormat | 'md';
  progress: boolean;
  outputDir?: string;
}

/** `--format` for a transcript: md is an enrichment's format only. */
function transcriptFormat(format: GlobalOptions['format']): TranscriptFormat {
  if (format === 'md') {
    throw new UsageError(
      '--format md is for enrichments (`get --enrichment`); transcripts are txt, json, srt or vtt',
    );
  }
  return format;
}

/** Parses argv (without node and script), runs the command, resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  const setExitCode = (code: ExitCode) => (exitCode = code);
  const deps = async (opts: ConnectionFlags): Promise<CommandDeps> => ({
    client: await clientFromOptions(opts, io.env),
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.signal ? { signal: io.signal } : {}),
  });

  const program = new Command('transcribe')
    .description(
      'Transcribe audio or video files with a transcription service: one job per file, ' +
        'all at once, transcripts on stdout (or in --output-dir).',
    )
    .argument(
      '<files...>',
      'recordings to transcribe (mp3, wav, flac, m4a, ogg, opus, webm, mp4, mov…)',
    )
    .addOption(
      new Option('-f, --format <format>', 'transcript format (md: enrichments only)')
        .choices([...new Set([...Formats.options, ...EnrichmentFormat.options])])
        .default('txt'),
    )
    .option(
      '-o, --output-dir <dir>',
      'write <name>.<format> per file here instead of stdout (enrichments: <name>.<key>.<ext>)',
    )
    .option('-l, --language <tag>', 'spoken language, e.g. "en", or "auto"')
    .addOption(
      new Option('-e, --engine <engine>', 'transcription engine').choices(EngineName.options),
    )
    .option('-m, --model <name>', "the engine's model, e.g. whisper-1")
    .addOption(new Option('-p, --priority <priority>', 'queue priority').choices(Priority.options))
    .option('--webhook <url>', 'URL that receives a signed POST when each job finishes')
    .option(
      '--metadata <key=value>',
      'label kept with each job and echoed back (repeatable)',
      collectMetadata,
    )
    .option(
      '--enrich <kinds>',
      'also make, from each transcript: clean, summary, notes, translate:<lang> (comma-separated)',
    )
    .option('--no-progress', 'do not show progress on stderr')
    .option('--url <url>', `API base URL (env TRANSCRIBE_URL, default ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (env TRANSCRIBE_API_KEY)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .action(async (files: string[], opts: GlobalOptions) => {
      const { jobOptionsFrom } = await import('./job-options.js');
      const job = jobOptionsFrom(opts);
      const { runTranscribeFiles } = await import('./transcribe-files.js');
      exitCode = await runTranscribeFiles(
        {
          files,
          format: transcriptFormat(opts.format),
          job,
          progress: opts.progress,
          ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
        },
        await deps(opts),
      );
    });

  // --format, --url and --api-key are the program's options, recognised after these too.
  program
    .command('status')
    .description("show a job's status (--format json for the API's JSON)")
    .argument('<jobId>')
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const { runStatus } = await import('./status.js');
      exitCode = await runStatus(jobId, opts.format === 'json' ? 'json' : 'txt', await deps(opts));
    });
  program
    .command('get')
    .description(
      "print a completed job's transcript, or one of its enrichments (--enrichment summary)",
    )
    .argument('<jobId>')
    .option(
      '--enrichment <key>',
      'clean, summary, notes or translate:<lang>; --format md|txt|json|srt|vtt, default md for summary and notes, txt otherwise',
    )
    .action(async (jobId: string, own: { enrichment?: string }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      if (own.enrichment !== undefined) {
        const { runGetEnrichment } = await import('./status.js');
        // Without an explicit --format the gateway picks the kind's own default.
        const explicit = cmd.getOptionValueSourceWithGlobals('format') !== 'default';
        exitCode = await runGetEnrichment(
          jobId,
          own.enrichment,
          explicit ? opts.format : undefined,
          await deps(opts),
        );
        return;
      }
      const { runGet } = await import('./status.js');
      exitCode = await runGet(jobId, transcriptFormat(opts.format), await deps(opts));
    });

  addJobsCommands(program, deps, setExitCode);
  addAdminCommands(program, io, setExitCode);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const { reportError } = await import('./report-error.js');
    return reportError(error, io.stderr);
  }
}
