import type { Segment } from '@transcribe/contracts';

/** Broadcast caption norms (BBC, Netflix): at most two lines of at most 42 characters a cue. */
export const MAX_LINE_CHARS = 42;
export const MAX_LINES = 2;

export interface Cue {
  start: number;
  end: number;
  lines: string[];
  /** The segment's speaker, when the engine diarized. */
  speaker?: string;
}

/** Greedy word wrap; a word longer than a line stays whole on its own line. */
export function wrap(text: string, width = MAX_LINE_CHARS): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Segments → cues that fit the line limits. A long segment is split into several cues at
 * line boundaries, its time shared out by characters (engines give no word times here).
 */
export function toCues(segments: readonly Segment[]): Cue[] {
  const cues: Cue[] = [];
  for (const segment of segments) {
    const lines = wrap(segment.text.trim());
    if (lines.length === 0) continue;
    const start = segment.start;
    const end = Math.max(segment.end, start + 0.001);
    const total = lines.reduce((n, l) => n + l.length, 0);
    let at = start;
    let done = 0;
    for (let i = 0; i < lines.length; i += MAX_LINES) {
      const group = lines.slice(i, i + MAX_LINES);
      done += group.reduce((n, l) => n + l.length, 0);
      const groupEnd = i + MAX_LINES >= lines.length ? end : start + ((end - start) * done) / total;
      cues.push({
        start: at,
        end: groupEnd,
        lines: group,
        ...(segment.speaker !== undefined ? { speaker: segment.speaker } : {}),
      });
      at = groupEnd;
    }
  }
  return cues;
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/**
 * SubRip has no speaker markup: the label leads the text (`[A] …`), wrapped with it so
 * the lines stay within the limits.
 */
export function toSrt(segments: readonly Segment[]): string {
  const labelled = segments.map(({ speaker, ...s }) =>
    speaker === undefined ? s : { ...s, text: `[${speaker}] ${s.text.trim()}` },
  );
  return toCues(labelled)
    .map(
      (cue, i) =>
        `${i + 1}\n${timestamp(cue.start, ',')} --> ${timestamp(cue.end, ',')}\n${cue.lines.join('\n')}\n`,
    )
    .join('\n');
}

/** A diarized cue opens with a voice span, `<v A>`, which players show or style as the speaker. */
export function toVtt(segments: readonly Segment[]): string {
  const cues = toCues(segments).map((cue) => {
    const voice = cue.speaker === undefined ? '' : `<v ${voiceName(cue.speaker)}>`;
    const text = cue.lines
      .join('\n')
      // "-->" inside a cue would end it early; & and < start entities and tags in WebVTT.
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/-->/g, '--&gt;');
    return `${timestamp(cue.start, '.')} --> ${timestamp(cue.end, '.')}\n${voice}${text}\n`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
}

/** A voice annotation ends at `>` and may not hold a line break or markup. */
function voiceName(speaker: string): string {
  return speaker.replace(/[<>&\s]+/g, ' ').trim() || '?';
}
