// The resident PocketSphinx decoder (issue 18): the model stays loaded between files, the
// transcript stays what `pocketsphinx_continuous` prints, and a decoder that crashes, hangs
// or is aborted fails only that transcription and is replaced. Runs the built decoder
// (services/worker/dist/engines/sphinx-decoder.js): `pnpm build` first.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { audioFixture } from '../../../packages/testkit/src/fixtures.js';
import { repoRoot } from '../../../packages/testkit/src/repo.js';
import { waitFor } from '../../../packages/testkit/src/wait-for.js';
import { librivoxClips } from '../../../packages/testkit/src/wer.js';
import type { EngineResult } from '../src/engines/engine.js';
import { createResidentSphinxEngine } from '../src/engines/sphinx-resident.js';
import { createSphinxEngine } from '../src/engines/sphinx.js';

const run = promisify(execFile);
const decoderScript = join(repoRoot(), 'services/worker/dist/engines/sphinx-decoder.js');
const jfkWav = audioFixture('jfk.wav');
const clip = librivoxClips()[1]!.wav;
let dir: string;
/** The five LibriVox clips in a row (≈ 40 s): long enough to be stopped part-way. */
let long: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sphinx-resident-'));
  long = join(dir, 'long.wav');
  const clips = librivoxClips();
  await run('ffmpeg', [
    ...['-nostdin', '-v', 'error'],
    ...clips.flatMap((c) => ['-i', c.wav]),
    ...['-filter_complex', `concat=n=${clips.length}:v=0:a=1`, '-ac', '1', '-ar', '16000', long],
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const alive = async (pid: number) =>
  run('kill', ['-0', String(pid)]).then(
    () => true,
    () => false,
  );

describe('resident decoder', () => {
  const engine = createResidentSphinxEngine({ decoderScript });
  afterAll(() => engine.close());

  test('one process decodes file after file, each exactly as pocketsphinx_continuous does', async () => {
    await engine.warm();
    const [pid] = engine.processes();
    const fresh = createSphinxEngine();
    const results: EngineResult[] = [];
    // jfk, a LibriVox clip, jfk again: the second jfk must not be coloured by the clip.
    for (const file of [jfkWav, clip, jfkWav]) {
      const progress: number[] = [];
      results.push(await engine.transcribe(file, { language: 'en' }, (s) => progress.push(s)));
      expect(progress.length).toBeGreaterThan(0);
      progress.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(progress[i - 1] ?? 0));
    }
    expect(engine.processes()).toEqual([pid]);
    const expected = [
      await fresh.transcribe(jfkWav, { language: 'en' }, () => {}),
      await fresh.transcribe(clip, { language: 'en' }, () => {}),
    ];
    expect(results[0]).toEqual(expected[0]);
    expect(results[1]).toEqual(expected[1]);
    expect(results[2]).toEqual(expected[0]);
    expect(results[0]!.text.length).toBeGreaterThan(20);
  });

  test('reports the seconds it has processed between utterances, not only at their ends', async () => {
    const progress: number[] = [];
    const result = await engine.transcribe(long, { language: 'en' }, (s) => progress.push(s));
    const ends = new Set(result.segments.map((s) => s.end));
    // `#at` figures (every 250 ms of decoding) beside the utterance ends, all increasing.
    expect(progress.filter((s) => !ends.has(s)).length).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(result.segments.length);
    progress.forEach((s, i) => expect(s).toBeGreaterThan(progress[i - 1] ?? 0));
    // The first figure comes before the first utterance ends: a reading's first pause can be
    // 20 s in, and the job would show nothing until then.
    expect(progress[0]).toBeLessThan(result.segments[0]!.end);
  });

  test('a decoder killed mid-file fails that file with why, and the next file gets a new one', async () => {
    await engine.warm();
    const [pid] = engine.processes();
    let killed = false;
    const pending = engine.transcribe(long, { language: 'en' }, () => {
      if (killed) return;
      killed = true;
      process.kill(pid!, 'SIGSEGV');
    });
    await expect(pending).rejects.toThrow(/pocketsphinx was killed by SIGSEGV/);
    expect(await alive(pid!)).toBe(false);
    const next = await engine.transcribe(jfkWav, { language: 'en' }, () => {});
    expect(next.text.length).toBeGreaterThan(20);
    expect(engine.processes()).not.toContain(pid);
  });

  test('an abort kills the decoder before the promise settles; the next file still works', async () => {
    await engine.warm();
    const [pid] = engine.processes();
    const controller = new AbortController();
    let heardS = 0;
    const pending = engine.transcribe(long, { language: 'en', signal: controller.signal }, (s) => {
      heardS = s;
      controller.abort();
    });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(heardS).toBeGreaterThan(0);
    expect(heardS).toBeLessThan(30);
    expect(await alive(pid!)).toBe(false);
    expect((await engine.transcribe(jfkWav, { language: 'en' }, () => {})).text).not.toBe('');
  });

  test('a file it cannot read fails that transcription only', async () => {
    await expect(
      engine.transcribe(join(dir, 'missing.wav'), { language: 'en' }, () => {}),
    ).rejects.toThrow(/could not read the audio: ENOENT/);
    expect((await engine.transcribe(jfkWav, { language: 'en' }, () => {})).text).not.toBe('');
  });

  test('two transcriptions at once run in two decoders; one stays loaded afterwards', async () => {
    const [a, b] = await Promise.all([
      engine.transcribe(jfkWav, { language: 'en' }, () => {}),
      engine.transcribe(jfkWav, { language: 'en' }, () => {}),
    ]);
    // The same words and times; a posterior may differ in its 4th decimal between a fresh
    // decoder and one that decoded a file before (lattice arithmetic, not the search).
    expect(a.text).toBe(b.text);
    expect(a.words!.map((w) => [w.word, w.start, w.end])).toEqual(
      b.words!.map((w) => [w.word, w.start, w.end]),
    );
    a.words!.forEach((w, i) => expect(w.confidence).toBeCloseTo(b.words![i]!.confidence!, 2));
    await waitFor(async () => engine.processes().length === 1, {
      what: 'the spare decoder to end',
    });
  });
});

describe('resident decoder failures', () => {
  test('a hung decoder is killed by the transcription’s timeout, never waited for', async () => {
    // Says it is ready, then never answers: the chunk's time limit is the only way out.
    const hung = join(dir, 'hung-decoder.mjs');
    await writeFile(hung, "process.stdout.write('#ready\\n'); setInterval(() => {}, 1000);\n");
    const engine = createResidentSphinxEngine({ decoderScript: hung });
    await engine.warm();
    const [pid] = engine.processes();
    const started = Date.now();
    await expect(
      engine.transcribe(jfkWav, { language: 'en', signal: AbortSignal.timeout(500) }, () => {}),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await alive(pid!)).toBe(false);
    await engine.close();
  });

  test('a decoder that never gets ready fails the warm-up in time and is killed', async () => {
    const stuck = join(dir, 'stuck-decoder.mjs');
    await writeFile(stuck, 'setInterval(() => {}, 1000);\n');
    const engine = createResidentSphinxEngine({ decoderScript: stuck });
    await expect(engine.warm(300)).rejects.toThrow(/not ready within 300 ms/);
    await waitFor(async () => engine.processes().length === 0, { what: 'the decoder to end' });
  });

  test('a bad model path fails with pocketsphinx’s own explanation', async () => {
    const engine = createResidentSphinxEngine({ decoderScript, hmm: join(dir, 'no-such-model') });
    await expect(engine.warm()).rejects.toThrow(/exited with code [1-9][\s\S]*no-such-model/);
    await expect(engine.transcribe(jfkWav, { language: 'en' }, () => {})).rejects.toThrow(
      /exited with code [1-9][\s\S]*no-such-model/,
    );
    expect(engine.processes()).toEqual([]);
  });

  test('a signal aborted beforehand rejects without starting anything', async () => {
    const engine = createResidentSphinxEngine({ decoderScript });
    const controller = new AbortController();
    controller.abort();
    await expect(
      engine.transcribe(jfkWav, { language: 'en', signal: controller.signal }, () => {}),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(engine.processes()).toEqual([]);
  });
});
