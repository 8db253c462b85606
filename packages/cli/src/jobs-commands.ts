import { type Command, InvalidArgumentError } from 'commander';
import { JobStatus } from '@transcribe/contracts';
import type { CommandDeps } from './command-deps.js';
import type { ConnectionFlags } from './connection.js';
import type { ExitCode } from './exit-codes.js';

/** Most jobs `jobs list` fetches (page by page); more is a job for the API and a script. */
const LIST_MAX = 1000;

function statusList(value: string, previous: JobStatus[] | undefined): JobStatus[] {
  const statuses = value.split(',').map((s) => s.trim());
  for (const s of statuses) {
    if (!JobStatus.safeParse(s).success)
      throw new InvalidArgumentError(`expected one or more of ${JobStatus.options.join(', ')}`);
  }
  return [...(previous ?? []), ...(statuses as JobStatus[])];
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > LIST_MAX)
    throw new InvalidArgumentError(`expected a whole number from 1 to ${LIST_MAX}`);
  return n;
}

/** `jobs list|cancel|retry|delete` on the given program (implementations load on use). */
export function addJobsCommands(
  program: Command,
  deps: (opts: ConnectionFlags) => Promise<CommandDeps>,
  setExitCode: (code: ExitCode) => void,
): void {
  const jobs = program.command('jobs').description("list and manage your tenant's jobs");
  const globals = (cmd: Command) => cmd.optsWithGlobals<ConnectionFlags & { format: string }>();

  jobs
    .command('list')
    .description('list jobs, newest first')
    .option(
      '-s, --status <status>',
      `only these statuses, comma-separated or repeated (${JobStatus.options.join(', ')})`,
      statusList,
    )
    .option('-n, --limit <n>', `at most this many (1–${LIST_MAX})`, limit, 20)
    .option('--json', "print the API's JSON (also with --format json)")
    .action(async (opts: { status?: JobStatus[]; limit: number; json?: boolean }, cmd: Command) => {
      const { runJobsList } = await import('./jobs.js');
      const g = globals(cmd);
      setExitCode(
        await runJobsList(
          {
            ...(opts.status ? { statuses: opts.status } : {}),
            limit: opts.limit,
            json: Boolean(opts.json) || g.format === 'json',
          },
          await deps(g),
        ),
      );
    });

  const byId = (
    name: string,
    description: string,
    run: (id: string, json: boolean, d: CommandDeps) => Promise<ExitCode>,
  ) =>
    jobs
      .command(name)
      .description(description)
      .argument('<jobId>')
      .option('--json', "print the job's JSON (also with --format json)")
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        setExitCode(await run(id, Boolean(opts.json) || g.format === 'json', await deps(g)));
      });

  byId('cancel', 'cancel a queued or processing job', async (id, json, d) =>
    (await import('./jobs.js')).runJobsCancel(id, json, d),
  );
  byId('retry', 'queue a failed or canceled job again', async (id, json, d) =>
    (await import('./jobs.js')).runJobsRetry(id, json, d),
  );
  jobs
    .command('delete')
    .description('delete a job with its transcript and media (a running one is canceled first)')
    .argument('<jobId>')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { runJobsDelete } = await import('./jobs.js');
      setExitCode(await runJobsDelete(id, await deps(globals(cmd))));
    });
}
