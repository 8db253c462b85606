import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JFK_REFERENCE, wordErrorRate } from '../../../packages/testkit/src/wer.js';
import { audioFixture } from '../../../packages/testkit/src/fixtures.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { processesMentioning } from '../../../packages/testkit/src/processes.js';
import type { EngineResult } from '../src/engines/engine.js';
import { createSphinxEngine } from '../src/engines/sphinx.js';

const run = promisify(execFile);
const jfkWav = audioFixture('jfk.wav');
const engine = createSphinxEngine();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sphinx-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sphinx engine on jfk.wav', () => {
  let result: EngineResult;
  let direct: string;
  const progress: number[] = [];

  beforeAll(async () => {
    // The engine and a plain pocketsphinx run side by side: the engine must add no errors.
    const [engineResult, plain] = await Promise.all([
      engine.transcribe(jfkWav, { language: 'en' }, (s) => progress.push(s)),
      run('pocketsphinx_continuous', ['-infile', jfkWav, '-logfn', '/dev/null']),
    ]);
    result = engineResult;
    direct = plain.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
  });

  test('transcribes the speech about as well as pocketsphinx does', () => {
    expect(result.model).toBe('cmusphinx-en-us');
    expect(wordErrorRate(JFK_REFERENCE, result.text)).toBeLessThan(0.8);
    expect(result.text).toBe(direct);
  });

  test('returns clean, ordered segments within the clip', () => {
    expect(result.segments.length).toBeGreaterThan(0);
    let previousEnd = 0;
    for (const segment of result.segments) {
      expect(segment.start).toBeGreaterThanOrEqual(previousEnd);
      expect(segment.end).toBeGreaterThan(segment.start);
      expect(segment.end).toBeLessThanOrEqual(11.1);
      expect(segment.text).toMatch(/^[a-z']+( [a-z']+)*$/);
      previousEnd = segment.end;
    }
    expect(result.segments.map((s) => s.text).join(' ')).toBe(result.text);
  });

  test('gives words: monotonic, inside their segments, spelling out the segment text', () => {
    const words = result.words ?? [];
    expect(words.length).toBeGreaterThan(0);
    let previousEnd = 0;
    for (const w of words) {
      expect(w.start).toBeGreaterThanOrEqual(previousEnd);
      expect(w.end).toBeGreaterThan(w.start);
      expect(w.word).toMatch(/^[a-z']+$/);
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
      previousEnd = w.end;
    }
    for (const segment of result.segments) {
      const inside = words.filter((w) => w.start >= segment.start && w.end <= segment.end);
      expect(inside.map((w) => w.word).join(' ')).toBe(segment.text);
    }
    expect(words.map((w) => w.word).join(' ')).toBe(result.text);
  });

  test('reports progress per utterance, never going back', () => {
    expect(progress.length).toBeGreaterThanOrEqual(result.segments.length);
    progress.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(progress[i - 1] ?? 0));
    expect(progress.at(-1)).toBeLessThanOrEqual(11.1);
  });
});

describe('sphinx engine failures', () => {
  test('an abort kills pocketsphinx and rejects with AbortError at once', async () => {
    // A private copy, so the process check below cannot see another test's decoder.
    const wav = join(dir, 'abort-me.wav');
    await copyFile(jfkWav, wav);
    const controller = new AbortController();
    let heardS = 0;
    const pending = engine.transcribe(
      wav,
      { language: 'en', signal: controller.signal },
      (processedS) => (heardS = processedS),
    );
    await waitFor(async () => (await processesMentioning(wav)).length === 1, {
      what: 'pocketsphinx to start',
    });

    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    // Killed mid-file, not left to finish: it had not reached the end of the 11 s, and it
    // is gone by the time the promise settles.
    expect(heardS).toBeLessThan(11);
    expect(await processesMentioning(wav)).toEqual([]);
  });

  test('a signal aborted beforehand rejects without starting anything', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      engine.transcribe(jfkWav, { language: 'en', signal: controller.signal }, () => {}),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('a missing binary says pocketsphinx is not installed', async () => {
    const missing = createSphinxEngine({ binary: join(dir, 'no-such-pocketsphinx') });
    await expect(missing.transcribe(jfkWav, { language: 'en' }, () => {})).rejects.toThrow(
      /pocketsphinx is not installed/,
    );
  });

  test('a bad model path fails with pocketsphinx’s own explanation', async () => {
    const broken = createSphinxEngine({ hmm: join(dir, 'no-such-model') });
    await expect(broken.transcribe(jfkWav, { language: 'en' }, () => {})).rejects.toThrow(
      /exited with code [1-9][\s\S]*no-such-model/,
    );
  });
});
