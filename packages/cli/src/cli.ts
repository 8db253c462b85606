import { Command, CommanderError, Option } from 'commander';
import { createClient, type TranscribeClient, type TranscriptFormat } from '@transcribe/client';
import { Language, Priority, TranscriptFormat as Formats } from '@transcribe/contracts';
import { addAdminCommands } from './admin.js';
import { ExitCode, UsageError, reportError } from './exit-codes.js';
import type { Output } from './output.js';
import { runGet, runStatus } from './status.js';
import { runTranscribe, type CommandDeps } from './transcribe.js';

export const DEFAULT_URL = 'http://localhost:8080';

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Output;
  stderr: Output;
  signal?: AbortSignal;
}

interface GlobalOptions {
  format: TranscriptFormat;
  language?: string;
  priority?: Priority;
  progress: boolean;
  url?: string;
  apiKey?: string;
}

/** Resolves URL and key from flags, then the environment; bad ones are usage errors. */
export function clientFromOptions(
  opts: Pick<GlobalOptions, 'url' | 'apiKey'>,
  env: CliIo['env'],
): TranscribeClient {
  const baseUrl = opts.url ?? env.TRANSCRIBE_URL ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new UsageError(`invalid API URL "${baseUrl}" (from --url or TRANSCRIBE_URL)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`API URL must be http(s), got "${baseUrl}"`);
  }
  const apiKey = opts.apiKey ?? env.TRANSCRIBE_API_KEY;
  if (!apiKey) throw new UsageError('no API key: set TRANSCRIBE_API_KEY or pass --api-key');
  return createClient({ baseUrl, apiKey });
}

/** Parses argv (without node and script), runs the command, resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  const deps = (opts: GlobalOptions): CommandDeps => ({
    client: clientFromOptions(opts, io.env),
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.signal ? { signal: io.signal } : {}),
  });

  const program = new Command('transcribe')
    .description('Transcribe an audio or video file with a transcription service.')
    .argument('<file>', 'recording to transcribe (mp3, wav, flac, m4a, ogg, opus, webm, mp4, mov…)')
    .addOption(
      new Option('-f, --format <format>', 'transcript format')
        .choices(Formats.options)
        .default('txt'),
    )
    .option('-l, --language <tag>', 'spoken language, e.g. "en", or "auto"')
    .addOption(new Option('-p, --priority <priority>', 'queue priority').choices(Priority.options))
    .option('--no-progress', 'do not show progress on stderr')
    .option('--url <url>', `API base URL (env TRANSCRIBE_URL, default ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (env TRANSCRIBE_API_KEY)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .action(async (file: string, opts: GlobalOptions) => {
      if (opts.language !== undefined && !Language.safeParse(opts.language).success) {
        throw new UsageError(`invalid --language "${opts.language}": expected a tag like "en"`);
      }
      exitCode = await runTranscribe(
        {
          file,
          format: opts.format,
          progress: opts.progress,
          ...(opts.language ? { language: opts.language } : {}),
          ...(opts.priority ? { priority: opts.priority } : {}),
        },
        deps(opts),
      );
    });

  // --format, --url and --api-key are the program's options, recognised after these too.
  program
    .command('status')
    .description("show a job's status (--format json for the API's JSON)")
    .argument('<jobId>')
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      exitCode = await runStatus(jobId, opts.format, deps(opts));
    });
  program
    .command('get')
    .description("print a completed job's transcript")
    .argument('<jobId>')
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      exitCode = await runGet(jobId, opts.format, deps(opts));
    });

  addAdminCommands(program, io, (code) => (exitCode = code));

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    return reportError(error, io.stderr);
  }
}
