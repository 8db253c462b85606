import type { Segment } from '@transcribe/contracts';

/**
 * Speaker labels as readers see them: `A`, `B`, … in order of first appearance on the
 * recording's time line, whatever the engine called them. Each chunk is a separate engine
 * request, so a label can only be matched across chunks by its name (an engine that
 * labels `A` the first voice of every request makes the first voices of all chunks one
 * speaker); nothing here compares voices.
 */
export function renameSpeakers(segments: readonly Segment[]): Segment[] {
  const names = new Map<string, string>();
  return segments.map((segment) => {
    if (segment.speaker === undefined) return segment;
    let name = names.get(segment.speaker);
    if (name === undefined) {
      name = speakerName(names.size);
      names.set(segment.speaker, name);
    }
    return { ...segment, speaker: name };
  });
}

/** 0 → A, 25 → Z, 26 → AA: spreadsheet columns, so any number of speakers gets a name. */
export function speakerName(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  }
  return name;
}
