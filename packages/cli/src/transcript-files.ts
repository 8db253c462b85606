import { parse, join, resolve } from 'node:path';
import type { TranscriptFormat } from '@transcribe/client';
import { UsageError } from './exit-codes.js';

/**
 * Where `--output-dir` puts each file's transcript: `<dir>/<name without extension>.<format>`.
 * Two inputs landing on one path (a.wav and a.mp3, or the same name in two directories), or
 * a transcript that would overwrite an input, are usage errors before anything is uploaded.
 */
export function transcriptPaths(
  files: readonly string[],
  dir: string,
  format: TranscriptFormat,
): string[] {
  const paths = files.map((file) => join(dir, `${parse(file).name}.${format}`));
  const inputs = new Set(files.map((file) => resolve(file)));
  const seen = new Map<string, string>();
  paths.forEach((path, i) => {
    const file = files[i]!;
    const first = seen.get(resolve(path));
    if (first !== undefined) {
      throw new UsageError(
        `${first} and ${file} would both be written to ${path}; transcribe them separately`,
      );
    }
    if (inputs.has(resolve(path))) throw new UsageError(`${path} would overwrite an input file`);
    seen.set(resolve(path), file);
  });
  return paths;
}
