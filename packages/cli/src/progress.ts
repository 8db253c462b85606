import { SingleBar } from 'cli-progress';
import type { JobEvent } from '@transcribe/client';
import { describeEvent, formatBytes, type Output } from './output.js';

/** What `transcribe` shows on stderr while it works. */
export interface ProgressReporter {
  uploadStarted(filename: string, totalBytes: number): void;
  uploadProgress(sentBytes: number, totalBytes: number): void;
  uploadFinished(): void;
  jobCreated(jobId: string): void;
  jobEvent(event: JobEvent): void;
  /** Removes any bar; safe to call more than once. */
  stop(): void;
}

/**
 * Bars on a terminal, one plain line per step otherwise (logs, CI, pipes), nothing at all
 * with `--no-progress`.
 */
export function createProgress(stderr: Output, enabled: boolean): ProgressReporter {
  if (!enabled) return silent;
  return stderr.isTTY ? new BarProgress(stderr) : new LineProgress(stderr);
}

const silent: ProgressReporter = {
  uploadStarted: () => undefined,
  uploadProgress: () => undefined,
  uploadFinished: () => undefined,
  jobCreated: () => undefined,
  jobEvent: () => undefined,
  stop: () => undefined,
};

class LineProgress implements ProgressReporter {
  private lastLine = '';
  constructor(private readonly out: Output) {}

  uploadStarted(filename: string, totalBytes: number): void {
    this.out.write(`uploading ${filename} (${formatBytes(totalBytes)})\n`);
  }
  uploadProgress(): void {}
  uploadFinished(): void {
    this.out.write('uploaded\n');
  }
  jobCreated(jobId: string): void {
    this.out.write(`job ${jobId} created\n`);
  }
  jobEvent(event: JobEvent): void {
    const line = describeEvent(event);
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.out.write(`${line}\n`);
  }
  stop(): void {}
}

class BarProgress implements ProgressReporter {
  private bar: SingleBar | undefined;
  constructor(private readonly out: Output) {}

  private open(format: string, total: number, payload: object): void {
    this.stop();
    this.bar = new SingleBar({
      stream: this.out,
      format,
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
    });
    this.bar.start(total, 0, payload);
  }

  uploadStarted(filename: string, totalBytes: number): void {
    this.open('uploading  |{bar}| {percentage}% | {sent} / {size} {filename}', totalBytes, {
      sent: formatBytes(0),
      size: formatBytes(totalBytes),
      filename,
    });
  }
  uploadProgress(sentBytes: number): void {
    this.bar?.update(sentBytes, { sent: formatBytes(sentBytes) });
  }
  uploadFinished(): void {
    this.stop();
  }
  jobCreated(jobId: string): void {
    this.out.write(`job ${jobId}\n`);
    this.open('processing |{bar}| {percentage}% | {stage}', 100, { stage: 'queued' });
  }
  jobEvent(event: JobEvent): void {
    if (event.type === 'progress') this.bar?.update(event.progress, { stage: event.stage });
    else if (event.type === 'completed') this.bar?.update(100, { stage: describeEvent(event) });
    else this.bar?.update({ stage: describeEvent(event) });
  }
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
