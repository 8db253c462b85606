// Speech tests compare word error rates, never strings: PocketSphinx's text changes with
// tiny changes to the audio (see fixtures/README.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const JFK_REFERENCE =
  'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.';

/** Where Debian's `pocketsphinx-testdata` puts its LibriVox clips. */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';

/**
 * Word-level Levenshtein distance divided by the number of reference words, after
 * lowercasing and dropping punctuation (apostrophes inside words are kept: "don't").
 * Can exceed 1 when the hypothesis has many insertions. An empty reference scores 0
 * against an empty hypothesis and 1 against anything else.
 */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  return editDistance(ref, hyp) / ref.length;
}

export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}']+/gu, ' ')
    .replace(/(^|[^\p{L}\p{N}])'+|'+(?=[^\p{L}\p{N}]|$)/gu, '$1')
    .split(/\s+/)
    .filter((w) => w.length > 0);
}

function editDistance(a: readonly string[], b: readonly string[]): number {
  // Two rows of the classic table: O(len(b)) memory.
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(substitution, (previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/**
 * The LibriVox clips with their reference transcripts, from the package's
 * `transcription` file (`<s> text </s> (fileid)` per line).
 */
export function librivoxClips(dir: string = LIBRIVOX_DIR): { wav: string; reference: string }[] {
  const file = join(dir, 'transcription');
  if (!existsSync(file)) {
    throw new Error(`${file} not found: install Debian's pocketsphinx-testdata package`);
  }
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^\s*(?:<s>)?(.*?)(?:<\/s>)?\s*\(([^()]+)\)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, text = '', id = '']) => ({ wav: join(dir, `${id}.wav`), reference: text.trim() }));
}
