import { ApiError, type Job, type JobStatus } from '@transcribe/client';
import { Uuid } from '@transcribe/contracts';
import type { CommandDeps } from './command-deps.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { formatBytes, formatTable } from './output.js';
import { describeError, reportError } from './report-error.js';

// `transcribe jobs list|cancel|retry|delete`: the job endpoints of the REST API, for the
// caller's tenant. A job in the wrong state for the request (cancel a completed job, retry
// a running one) is exit code 1, like a failed job: the API worked, the job did not move.

/** The API's page size limit; longer lists are fetched page by page. */
const PAGE_MAX = 100;

export interface JobsListArgs {
  statuses?: JobStatus[];
  /** Jobs to show at most, newest first. */
  limit: number;
  json: boolean;
}

function jobId(value: string): string {
  if (!Uuid.safeParse(value).success)
    throw new UsageError(`"${value}" is not a job id (a UUID, see \`transcribe jobs list\`)`);
  return value;
}

/** `jobs list`: the newest jobs, as a table or (json) the API's objects. */
export async function runJobsList(args: JobsListArgs, deps: CommandDeps): Promise<ExitCode> {
  try {
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await deps.client.listJobs({
        ...(args.statuses ? { status: args.statuses } : {}),
        limit: Math.min(PAGE_MAX, args.limit - jobs.length),
        ...(cursor ? { cursor } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      jobs.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && jobs.length < args.limit);
    if (args.json) {
      deps.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
      return ExitCode.Ok;
    }
    if (jobs.length === 0) {
      deps.stderr.write('no jobs\n');
      return ExitCode.Ok;
    }
    deps.stdout.write(
      formatTable([
        ['ID', 'STATUS', 'PROGRESS', 'FILE', 'SIZE', 'ENGINE', 'CREATED'],
        ...jobs.map((job) => [
          job.id,
          job.status,
          `${Math.round(job.progress)}%`,
          job.filename,
          formatBytes(job.sizeBytes),
          job.model ? `${job.engine} (${job.model})` : job.engine,
          job.createdAt,
        ]),
      ]),
    );
    if (cursor) deps.stderr.write(`(more jobs: raise --limit, now ${args.limit})\n`);
    return ExitCode.Ok;
  } catch (error) {
    return reportError(error, deps.stderr);
  }
}

/** Runs one job request; `invalid_job_state` is exit code 1, other failures as usual. */
async function jobRequest(deps: CommandDeps, run: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await run();
  } catch (error) {
    const { code, message } = describeError(error);
    deps.stderr.write(`error: ${message}\n`);
    return error instanceof ApiError && error.code === 'invalid_job_state'
      ? ExitCode.JobFailed
      : code;
  }
}

function printJob(job: Job, json: boolean, line: string, deps: CommandDeps): ExitCode {
  if (json) deps.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  else deps.stderr.write(`${line}\n`);
  return ExitCode.Ok;
}

/** `jobs cancel <id>`: stops a queued or processing job. */
export function runJobsCancel(id: string, json: boolean, deps: CommandDeps): Promise<ExitCode> {
  return jobRequest(deps, async () => {
    const job = await deps.client.cancelJob(jobId(id), requestOptions(deps));
    return printJob(job, json, `job ${job.id} is ${job.status}`, deps);
  });
}

/** `jobs retry <id>`: queues a failed or canceled job again. */
export function runJobsRetry(id: string, json: boolean, deps: CommandDeps): Promise<ExitCode> {
  return jobRequest(deps, async () => {
    const job = await deps.client.retryJob(jobId(id), requestOptions(deps));
    return printJob(
      job,
      json,
      `job ${job.id} is ${job.status} again: \`transcribe status ${job.id}\``,
      deps,
    );
  });
}

/** `jobs delete <id>`: the job, its transcript and its media, gone (a running one is canceled). */
export function runJobsDelete(id: string, deps: CommandDeps): Promise<ExitCode> {
  return jobRequest(deps, async () => {
    await deps.client.deleteJob(jobId(id), requestOptions(deps));
    deps.stderr.write(`deleted job ${id}\n`);
    return ExitCode.Ok;
  });
}

function requestOptions(deps: CommandDeps): { signal?: AbortSignal } {
  return deps.signal ? { signal: deps.signal } : {};
}
