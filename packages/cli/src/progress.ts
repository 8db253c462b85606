import { basename } from 'node:path';
import { MultiBar, type SingleBar } from 'cli-progress';
import type { JobEvent } from '@transcribe/client';
import { describeEvent, formatBytes, formatEta, type Output } from './output.js';

/** What `transcribe` shows on stderr while it works on one file. */
export interface ProgressReporter {
  /** Waiting for a free upload slot (several files at once). */
  waiting(): void;
  uploadStarted(totalBytes: number): void;
  uploadProgress(sentBytes: number, totalBytes: number): void;
  uploadFinished(): void;
  jobCreated(jobId: string): void;
  jobEvent(event: JobEvent): void;
  /**
   * A line about this file (an error, where its transcript went): at once in line mode,
   * after the bars are gone in bar mode (writing between redraws would tear them).
   */
  note(line: string): void;
}

/** The progress of every file of one run. */
export interface ProgressBoard {
  /** The reporter of the file at this index (of the names the board was made with). */
  file(index: number): ProgressReporter;
  /** Removes the bars and prints the held notes; safe to call more than once. */
  stop(): void;
}

/**
 * Bars on a terminal (one per file), one plain line per step otherwise (logs, CI, pipes),
 * nothing but notes with `--no-progress`. With several files each line and bar is labelled
 * with its file's name.
 */
export function createProgressBoard(
  stderr: Output,
  enabled: boolean,
  names: readonly string[],
): ProgressBoard {
  const labelled = names.length > 1;
  if (enabled && stderr.isTTY) return new BarBoard(stderr, names, labelled);
  const reporters = names.map((name) => {
    const prefix = labelled ? `${name}: ` : '';
    return enabled ? new LineProgress(stderr, prefix, name) : new NotesOnly(stderr, prefix);
  });
  return { file: (i) => reporters[i]!, stop: () => undefined };
}

class NotesOnly implements ProgressReporter {
  constructor(
    protected readonly out: Output,
    protected readonly prefix: string,
  ) {}
  waiting(): void {}
  uploadStarted(_totalBytes: number): void {}
  uploadProgress(): void {}
  uploadFinished(): void {}
  jobCreated(_jobId: string): void {}
  jobEvent(_event: JobEvent): void {}
  note(line: string): void {
    this.out.write(`${this.prefix}${line}\n`);
  }
}

class LineProgress extends NotesOnly {
  private lastLine = '';
  constructor(
    out: Output,
    prefix: string,
    private readonly name: string,
  ) {
    super(out, prefix);
  }

  override uploadStarted(totalBytes: number): void {
    // Labelled lines already say which file; a lone file is named here, as it always was.
    const which = this.prefix ? '' : ` ${basename(this.name)}`;
    this.note(`uploading${which} (${formatBytes(totalBytes)})`);
  }
  override uploadFinished(): void {
    this.note('uploaded');
  }
  override jobCreated(jobId: string): void {
    this.note(`job ${jobId} created`);
  }
  override jobEvent(event: JobEvent): void {
    const line = describeEvent(event);
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.note(line);
  }
}

/** Longest file label in bar mode: the bars stay on one line of an 80-column terminal. */
const LABEL_MAX = 24;

function label(name: string): string {
  return name.length > LABEL_MAX ? `…${name.slice(-(LABEL_MAX - 1))}` : name;
}

class BarBoard implements ProgressBoard {
  private readonly multibar: MultiBar;
  private readonly reporters: BarProgress[];
  private readonly notes: string[] = [];
  private stopped = false;

  constructor(
    private readonly out: Output,
    names: readonly string[],
    labelled: boolean,
  ) {
    // Bars must fit one terminal line: base names as labels, the full paths are in the notes.
    const labels = names.map((n) => label(basename(n)));
    const width = Math.max(...labels.map((l) => l.length));
    this.multibar = new MultiBar({
      stream: out,
      format: `${labelled ? '{label} ' : ''}{phase} |{bar}| {percentage}% | {detail}`,
      barsize: labelled ? 20 : 30,
      hideCursor: true,
      clearOnComplete: false,
      // main.ts owns Ctrl-C: it stops waiting, reports, then the board is stopped.
      gracefulExit: false,
    });
    this.reporters = names.map((name, i) => {
      const file = { label: labels[i]!.padEnd(width), name: labelled ? '' : basename(name) };
      const note = (line: string) => this.notes.push(labelled ? `${name}: ${line}` : line);
      return new BarProgress(this.multibar, file, note);
    });
  }

  file(index: number): ProgressReporter {
    return this.reporters[index]!;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.multibar.stop();
    for (const line of this.notes) this.out.write(`${line}\n`);
  }
}

class BarProgress implements ProgressReporter {
  private bar: SingleBar | undefined;

  constructor(
    private readonly multibar: MultiBar,
    /** `name`: shown after the upload's size when there is no label (one file). */
    private readonly file: { label: string; name: string },
    readonly note: (line: string) => void,
  ) {}

  /**
   * The file's one bar, made on first use so bars appear in the order work starts. Redraws
   * at once: between phases the bars redraw on a timer, which a fast phase (a small upload)
   * would otherwise never show.
   */
  private show(total: number, value: number, payload: { phase: string; detail: string }): void {
    if (!this.bar) {
      this.bar = this.multibar.create(total, value, { label: this.file.label, ...payload });
    } else {
      this.bar.setTotal(total);
      this.bar.update(value, payload);
    }
    this.multibar.update();
  }

  waiting(): void {
    this.show(1, 0, { phase: 'waiting   ', detail: 'for an upload slot' });
  }
  uploadStarted(totalBytes: number): void {
    this.show(totalBytes, 0, { phase: 'uploading ', detail: this.sent(0, totalBytes) });
  }
  uploadProgress(sentBytes: number, totalBytes: number): void {
    this.bar?.update(sentBytes, { detail: this.sent(sentBytes, totalBytes) });
  }
  private sent(sentBytes: number, totalBytes: number): string {
    return `${formatBytes(sentBytes)} / ${formatBytes(totalBytes)} ${this.file.name}`.trimEnd();
  }
  uploadFinished(): void {}
  jobCreated(jobId: string): void {
    this.show(100, 0, { phase: 'processing', detail: `queued (job ${jobId})` });
  }
  jobEvent(event: JobEvent): void {
    if (event.type === 'progress') {
      const eta = event.etaS !== undefined ? ` ${formatEta(event.etaS)}` : '';
      this.bar?.update(event.progress, { detail: `${event.stage}${eta}` });
    } else if (event.type === 'completed') this.bar?.update(100, { detail: describeEvent(event) });
    else this.bar?.update({ detail: describeEvent(event) });
  }
}
