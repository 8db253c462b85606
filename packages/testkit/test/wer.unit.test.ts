import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JFK_REFERENCE, librivoxClips, normalizeWords, wordErrorRate } from '../src/wer.js';
import { fixturesDir, audioFixture } from '../src/fixtures.js';

describe('wordErrorRate', () => {
  test('is 0 for identical text', () => {
    expect(wordErrorRate('the cat sat down', 'the cat sat down')).toBe(0);
  });

  test('counts one substitution in four words as 0.25', () => {
    expect(wordErrorRate('the cat sat down', 'the dog sat down')).toBe(0.25);
  });

  test('counts an insertion', () => {
    expect(wordErrorRate('the cat sat down', 'the cat sat right down')).toBe(0.25);
  });

  test('counts deletions', () => {
    expect(wordErrorRate('the cat sat down', 'the cat')).toBe(0.5);
  });

  test('can exceed 1 when the hypothesis is mostly insertions', () => {
    expect(wordErrorRate('yes', 'no no no')).toBe(3);
  });

  test('ignores case and punctuation but keeps apostrophes inside words', () => {
    expect(
      wordErrorRate('Ask not, what YOUR country can do!', 'ask not what your country can do'),
    ).toBe(0);
    expect(normalizeWords("Don't stop -- 'quoted' rock'n'roll.")).toEqual([
      "don't",
      'stop',
      'quoted',
      "rock'n'roll",
    ]);
    expect(wordErrorRate("don't", 'dont')).toBe(1);
  });

  test('scores empty references', () => {
    expect(wordErrorRate('', '')).toBe(0);
    expect(wordErrorRate(' . ', 'something')).toBe(1);
  });

  test('scores the JFK reference against a plausible recogniser output', () => {
    expect(JFK_REFERENCE.split(' ')).toHaveLength(22);
    const hypothesis = 'and so my fellow americans ask not what your country can do for you';
    expect(wordErrorRate(JFK_REFERENCE, hypothesis)).toBeCloseTo(8 / 22, 10);
  });
});

describe('librivoxClips', () => {
  test('reads the LibriVox transcription into existing wav files', () => {
    const clips = librivoxClips();
    expect(clips.length).toBeGreaterThanOrEqual(5);
    for (const clip of clips) {
      expect(existsSync(clip.wav)).toBe(true);
      expect(clip.reference).not.toMatch(/<\/?s>|\(/);
      expect(clip.reference.split(' ').length).toBeGreaterThan(3);
    }
    expect(clips[1]?.reference).toBe('he was not an ill disposed young man');
  });

  test('says which package to install when the data is missing', () => {
    expect(() => librivoxClips('/nonexistent')).toThrow(/pocketsphinx-testdata/);
  });
});

describe('fixturesDir', () => {
  const saved = { cwd: process.cwd(), env: process.env['FIXTURES_DIR'] };
  let empty: string;

  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'fixtures-test-'));
  });

  afterEach(() => {
    process.chdir(saved.cwd);
    if (saved.env === undefined) delete process.env['FIXTURES_DIR'];
    else process.env['FIXTURES_DIR'] = saved.env;
  });

  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
  });

  test("finds the repository's own fixtures", () => {
    delete process.env['FIXTURES_DIR'];
    expect(existsSync(audioFixture('jfk.wav'))).toBe(true);
  });

  test('honours FIXTURES_DIR', () => {
    process.env['FIXTURES_DIR'] = empty;
    expect(fixturesDir()).toBe(empty);
  });

  test('explains itself when nothing is found', () => {
    delete process.env['FIXTURES_DIR'];
    process.chdir(empty);
    expect(() => fixturesDir()).toThrow(/FIXTURES_DIR/);
  });
});
