// Where the repository's test fixtures are, so no test spells the path itself.
import { join, resolve } from 'node:path';
import { repoRoot } from './repo.js';

/**
 * The repository's test fixtures (`fixtures/` at the workspace root, see its README for
 * where each file comes from), or `$FIXTURES_DIR` when set.
 */
export function fixturesDir(): string {
  const fromEnv = process.env['FIXTURES_DIR'];
  if (fromEnv) return resolve(fromEnv);
  let root: string;
  try {
    root = repoRoot();
  } catch {
    throw new Error(`fixtures not found: run inside the repository or set FIXTURES_DIR`);
  }
  return join(root, 'fixtures');
}

/** The audio fixtures: `jfk.wav` (16 kHz mono, 11 s of speech) and its MP3 encoding. */
export type AudioFixture = 'jfk.wav' | 'jfk.mp3';

/** The path of one audio file in `fixtures/audio`. */
export function audioFixture(name: AudioFixture): string {
  return join(fixturesDir(), 'audio', name);
}

/** The whisper.cpp model made for tests (it loads and runs; its text is not speech). */
export function whisperTestModel(): string {
  return join(fixturesDir(), 'models', 'for-tests-ggml-tiny.en.bin');
}
