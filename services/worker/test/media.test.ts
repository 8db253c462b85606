import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { audioFixture } from '../../../packages/testkit/src/fixtures.js';
import { processesMentioning } from '../../../packages/testkit/src/processes.js';
import { type PermanentJobErrorCode } from '../src/errors.js';
import { decodeClip, normalizeAudio, probeMedia } from '../src/media.js';

const run = promisify(execFile);
const JFK_S = 11;
const jfkWav = audioFixture('jfk.wav');
const jfkMp3 = audioFixture('jfk.mp3');
let dir: string;

async function ffmpeg(...args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
}

async function audioStreamOf(file: string): Promise<Record<string, string | number>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  const streams = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams;
  const audio = streams.find((s) => s['codec_type'] === 'audio');
  if (!audio) throw new Error(`no audio stream in ${file}`);
  return audio;
}

/** A canonical 44-byte PCM WAV header: 16 kHz mono s16le, `dataBytes` of samples. */
function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(16000, 24);
  h.writeUInt32LE(32000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

async function expectPermanent(
  promise: Promise<unknown>,
  code: PermanentJobErrorCode,
): Promise<string> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: 'PermanentJobError', code });
  const message = (error as Error).message;
  // Readable for the user: one sentence, no ffmpeg banner, no temp path.
  expect(message).not.toMatch(/ffprobe version|configuration:|\n/);
  expect(message).not.toContain(dir);
  return message;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeMedia', () => {
  test.each([
    ['jfk.wav', jfkWav, 'wav', 'pcm_s16le'],
    ['jfk.mp3', jfkMp3, 'mp3', 'mp3'],
  ])('reads %s', async (_name, file, formatName, audioCodec) => {
    const info = await probeMedia(file, { maxDurationS: 3600 });
    expect(info).toMatchObject({ formatName, audioCodec, hasVideo: false });
    expect(info.durationS).toBeGreaterThan(JFK_S - 0.2);
    expect(info.durationS).toBeLessThan(JFK_S + 0.2);
  });

  test('rejects media longer than maxDurationS with both durations in the message', async () => {
    const message = await expectPermanent(probeMedia(jfkWav, { maxDurationS: 5 }), 'too_long');
    expect(message).toContain('11.0 s');
    expect(message).toContain('5.0 s');
  });

  test('rejects random bytes as invalid_media', async () => {
    const file = join(dir, 'random.bin');
    // Random-looking but the same every run: fresh random bytes once in a while probe as
    // some container without audio (no_audio_stream), which made this test flaky.
    const blocks = Array.from({ length: 2048 }, (_, i) =>
      createHash('sha256').update(`random bytes ${i}`).digest(),
    );
    const bytes = Buffer.concat(blocks);
    expect(bytes.length).toBe(64 * 1024);
    await writeFile(file, bytes);
    await expectPermanent(probeMedia(file, { maxDurationS: 3600 }), 'invalid_media');
  });

  test('rejects a text file as invalid_media', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'These are meeting notes, not a recording.\n'.repeat(50));
    await expectPermanent(probeMedia(file, { maxDurationS: 3600 }), 'invalid_media');
  });

  test('rejects a 0-byte file as invalid_media', async () => {
    const file = join(dir, 'zero.mp3');
    await writeFile(file, '');
    await expectPermanent(probeMedia(file, { maxDurationS: 3600 }), 'invalid_media');
  });

  test('rejects a video without audio as no_audio_stream', async () => {
    const file = join(dir, 'video-only.mp4');
    await ffmpeg('-f', 'lavfi', '-i', 'color=c=black:s=64x64:d=2', '-c:v', 'libx264', file);
    const message = await expectPermanent(
      probeMedia(file, { maxDurationS: 3600 }),
      'no_audio_stream',
    );
    expect(message).toContain('video');
  });

  test('rejects a WAV with a header and zero samples as empty_audio', async () => {
    const file = join(dir, 'empty.wav');
    await writeFile(file, wavHeader(0));
    await expectPermanent(probeMedia(file, { maxDurationS: 3600 }), 'empty_audio');
  });

  test('rejects a WAV header whose promised samples are missing as invalid_media', async () => {
    // ffprobe itself refuses a header that announces data it cannot find.
    const file = join(dir, 'header-only.wav');
    await writeFile(file, (await readFile(jfkWav)).subarray(0, 44));
    await expectPermanent(probeMedia(file, { maxDurationS: 3600 }), 'invalid_media');
  });

  test('measures a streamed webm that states no duration (as browsers record)', async () => {
    const file = join(dir, 'streamed.webm');
    const { stdout } = await run(
      'ffmpeg',
      ['-v', 'error', '-nostdin', '-i', jfkWav, '-c:a', 'libopus', '-f', 'webm', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
    );
    await writeFile(file, stdout);
    const info = await probeMedia(file, { maxDurationS: 3600 });
    expect(info.audioCodec).toBe('opus');
    expect(info.durationS).toBeGreaterThan(JFK_S - 0.2);
    expect(info.durationS).toBeLessThan(JFK_S + 0.2);
    await expectPermanent(probeMedia(file, { maxDurationS: 5 }), 'too_long');
  });
});

describe('normalizeAudio', () => {
  /** Checks the engine input format and returns its duration in seconds. */
  async function expectNormalized(file: string): Promise<number> {
    const stream = await audioStreamOf(file);
    expect(stream).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '16000', channels: 1 });
    return Number(stream['duration']);
  }

  test.each([
    [
      'mp4 with video',
      'jfk.mp4',
      ['-f', 'lavfi', '-i', 'color=c=black:s=64x64', '-c:v', 'libx264', '-c:a', 'aac', '-shortest'],
      'aac',
      true,
    ],
    ['webm', 'jfk.webm', ['-c:a', 'libopus'], 'opus', false],
    ['flac', 'jfk.flac', ['-c:a', 'flac'], 'flac', false],
    ['ogg', 'jfk.ogg', ['-c:a', 'libvorbis'], 'vorbis', false],
    ['m4a', 'jfk.m4a', ['-c:a', 'aac'], 'aac', false],
  ] as const)('probes and normalises %s', async (_label, name, encode, codec, hasVideo) => {
    const input = join(dir, name);
    const output = join(dir, `${name}.norm.wav`);
    await ffmpeg('-i', jfkWav, ...encode, input);

    const info = await probeMedia(input, { maxDurationS: 3600 });
    expect(info).toMatchObject({ audioCodec: codec, hasVideo });
    expect(Math.abs(info.durationS - JFK_S)).toBeLessThan(0.5);

    const fractions: number[] = [];
    await normalizeAudio(input, output, {
      durationS: info.durationS,
      onProgress: (f) => fractions.push(f),
    });
    expect(Math.abs((await expectNormalized(output)) - JFK_S)).toBeLessThan(0.5);
    expect(fractions.at(-1)).toBe(1);
  });

  describe('on a long recording', () => {
    let long: string;

    beforeAll(async () => {
      long = join(dir, 'long.mp3');
      // ~45 minutes without re-encoding: decoding it takes long enough for ffmpeg to print
      // several progress reports (one per 0.5 s of wall time), and to be aborted midway.
      await ffmpeg('-stream_loop', '245', '-i', jfkMp3, '-c', 'copy', long);
    });

    afterAll(async () => {
      await rm(long, { force: true });
    });

    test('reports increasing progress fractions ending at 1', async () => {
      const output = join(dir, 'long.norm.wav');
      const { durationS } = await probeMedia(long, { maxDurationS: 4 * 3600 });
      const fractions: number[] = [];
      await normalizeAudio(long, output, { durationS, onProgress: (f) => fractions.push(f) });

      expect(fractions.length).toBeGreaterThan(2);
      fractions.forEach((f, i) => {
        expect(f).toBeGreaterThan(i === 0 ? 0 : (fractions[i - 1] ?? 0));
        expect(f).toBeLessThanOrEqual(1);
      });
      expect(fractions.at(-1)).toBe(1);
      await rm(output);
    });

    test('kills ffmpeg and rejects with AbortError when aborted', async () => {
      const output = join(dir, 'aborted.norm.wav');
      const controller = new AbortController();
      await expect(
        normalizeAudio(long, output, {
          durationS: 2700,
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      // ffmpeg is gone by the time the promise settles, and it was killed, not finished:
      // what it wrote falls short of the 45 minutes it was converting.
      expect(await processesMentioning(output)).toEqual([]);
      const written = await stat(output).then(
        (s) => s.size,
        () => 0,
      );
      expect(written).toBeLessThan(2700 * 16_000 * 2);
    });
  });

  test('still normalises a truncated mp3 (first 40% of its bytes)', async () => {
    const input = join(dir, 'truncated.mp3');
    const output = join(dir, 'truncated.norm.wav');
    const bytes = await readFile(jfkMp3);
    await writeFile(input, bytes.subarray(0, Math.floor(bytes.length * 0.4)));

    const info = await probeMedia(input, { maxDurationS: 3600 });
    await normalizeAudio(input, output, { durationS: info.durationS });
    const seconds = await expectNormalized(output);
    expect(seconds).toBeGreaterThan(JFK_S * 0.3);
    expect(seconds).toBeLessThan(JFK_S * 0.5);
  });

  test('rejects a WAV with zero samples as empty_audio', async () => {
    const input = join(dir, 'empty-for-normalize.wav');
    await writeFile(input, wavHeader(0));
    await expectPermanent(normalizeAudio(input, join(dir, 'empty.norm.wav')), 'empty_audio');
  });

  test('rejects undecodable input as invalid_media', async () => {
    const input = join(dir, 'garbage.mp3');
    await writeFile(input, 'not audio at all\n'.repeat(100));
    await expectPermanent(normalizeAudio(input, join(dir, 'garbage.norm.wav')), 'invalid_media');
  });

  test('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      normalizeAudio(jfkWav, join(dir, 'pre-aborted.wav'), { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('decodeClip', () => {
  it('writes the engine WAV and measures the same samples, in one decode', async () => {
    const input = join(dir, 'clip.mp3.wav');
    const clip = await decodeClip(jfkMp3, input, { limitS: 120 });
    expect(clip?.durationS).toBeGreaterThan(JFK_S - 0.2);
    expect(clip?.durationS).toBeLessThan(JFK_S + 0.2);
    expect(clip?.peakDb).toBeGreaterThan(-50);
    expect(clip?.entropy).toBeLessThan(0.97);
    const stream = await audioStreamOf(input);
    expect(stream).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '16000', channels: 1 });
    expect(Number(stream['duration'])).toBeCloseTo(clip!.durationS, 2);
  });

  it('stops just past its limit and says the audio is longer than a clip', async () => {
    const output = join(dir, 'past-limit.wav');
    expect(await decodeClip(jfkWav, output, { limitS: 5 })).toBeUndefined();
    expect((await stat(output)).size).toBeLessThan(7 * 32000);
  });
});
