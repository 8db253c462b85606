import { parse, join, resolve } from 'node:path';
import type { TranscriptFormat } from '@transcribe/client';
import { enrichmentSlug, type EnrichmentOutput } from './enrichment-files.js';
import { UsageError } from './exit-codes.js';

/** Where one input's outputs go in `--output-dir`. */
export interface FileOutputs {
  transcript: string;
  /** One per requested enrichment, in the order asked. */
  enrichments: (EnrichmentOutput & { path: string })[];
}

/**
 * Where `--output-dir` puts each file's outputs: the transcript as
 * `<dir>/<name without extension>.<format>`, each enrichment beside it as
 * `<dir>/<name>.<key, ":" as "-">.<its format>` (`talk.summary.md`, `talk.translate-de.srt`).
 * Two outputs landing on one path (a.wav and a.mp3, the same name in two directories), or
 * an output that would overwrite an input, are usage errors before anything is uploaded.
 */
export function outputPaths(
  files: readonly string[],
  dir: string,
  format: TranscriptFormat,
  enrichments: readonly EnrichmentOutput[] = [],
): FileOutputs[] {
  const outputs = files.map((file) => {
    const name = parse(file).name;
    return {
      transcript: join(dir, `${name}.${format}`),
      enrichments: enrichments.map((e) => ({
        ...e,
        path: join(dir, `${name}.${enrichmentSlug(e.key)}.${e.format}`),
      })),
    };
  });
  const inputs = new Set(files.map((file) => resolve(file)));
  const seen = new Map<string, string>();
  outputs.forEach((output, i) => {
    const file = files[i]!;
    for (const path of [output.transcript, ...output.enrichments.map((e) => e.path)]) {
      const first = seen.get(resolve(path));
      if (first !== undefined) {
        throw new UsageError(
          `${first} and ${file} would both be written to ${path}; transcribe them separately`,
        );
      }
      if (inputs.has(resolve(path))) throw new UsageError(`${path} would overwrite an input file`);
      seen.set(resolve(path), file);
    }
  });
  return outputs;
}
