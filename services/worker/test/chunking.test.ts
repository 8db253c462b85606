// Chunk planning on real speech: ffmpeg finds the pauses, the plan cuts inside them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offsetSegments, planChunks } from '../src/chunking.js';
import { detectSilences, extractAudio } from '../src/media.js';
import { durationOf, joinLibrivox, type Recording } from './speech.js';

let dir: string;
let recording: Recording;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chunking-test-'));
  recording = await joinLibrivox(join(dir, 'speech.wav'), 2);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('planChunks', () => {
  it('covers the whole duration with contiguous spans of equal length, no short leftover', () => {
    const spans = planChunks(95, [], { chunkS: 30, windowS: 5 });
    expect(spans.map((s) => [s.startS, s.endS])).toEqual([
      [0, expect.closeTo(31.667, 3)],
      [expect.closeTo(31.667, 3), expect.closeTo(63.333, 3)],
      [expect.closeTo(63.333, 3), 95],
    ]);
    expect(planChunks(100, [], { chunkS: 30, windowS: 5 })).toEqual([
      { startS: 0, endS: 25 },
      { startS: 25, endS: 50 },
      { startS: 50, endS: 75 },
      { startS: 75, endS: 100 },
    ]);
  });

  it('shares a long recording out evenly: the last chunk is no shorter than the others (issue 18)', () => {
    // 300 s chunks and a 100 s leftover before; now 13 chunks of about 285 s.
    const spans = planChunks(3700, [], { chunkS: 300, windowS: 20 });
    expect(spans).toHaveLength(13);
    for (const s of spans) expect(s.endS - s.startS).toBeCloseTo(3700 / 13, 6);
    // Exactly an hour: twelve chunks of 300 s, so two workers take six each.
    expect(planChunks(3600, [], { chunkS: 300, windowS: 20 })).toHaveLength(12);
  });

  it('cuts a fanned-out recording of a few chunks into at least minCount, none under minChunkS', () => {
    const opts = { chunkS: 300, windowS: 20, minCount: 8 };
    // Ten minutes: two chunks would leave all but two workers idle; eight of 75 s each.
    const ten = planChunks(600, [], opts);
    expect(ten).toHaveLength(8);
    for (const s of ten) expect(s.endS - s.startS).toBeCloseTo(75, 6);
    // One chunk's worth stays whole; an hour already has more than eight.
    expect(planChunks(310, [], opts)).toHaveLength(1);
    expect(planChunks(3600, [], opts)).toHaveLength(12);
    // Never shorter than minChunkS: 100 s in 30 s chunks is 4 (the target), not 8.
    expect(planChunks(100, [], { chunkS: 30, windowS: 5, minCount: 8 })).toHaveLength(4);
    expect(planChunks(400, [], { ...opts, minChunkS: 100 })).toHaveLength(4);
  });

  it('cuts at the silence point nearest the target, inside the window only, and shares out the rest', () => {
    const silences = [
      { startS: 24, endS: 25 }, // 5 s early
      { startS: 32, endS: 34 }, // 2 s late: nearest
      { startS: 50, endS: 51 }, // outside the window of the second target (~61)
    ];
    const spans = planChunks(90, silences, { chunkS: 30, windowS: 6 });
    expect(spans[0]!.endS).toBeCloseTo(32.1, 5);
    // What is left after the late cut is split in two equal halves.
    expect(spans[1]!.startS).toBe(spans[0]!.endS);
    expect(spans[1]!.endS).toBeCloseTo(32.1 + (90 - 32.1) / 2, 5);
    expect(spans[2]!.endS).toBe(90);
  });

  it('cuts at the target itself when a silence spans it', () => {
    const spans = planChunks(60, [{ startS: 28, endS: 33 }], { chunkS: 30, windowS: 5 });
    expect(spans[0]!.endS).toBe(30);
  });

  it('keeps a short recording in one chunk', () => {
    expect(planChunks(12.5, [], { chunkS: 300, windowS: 20 })).toEqual([{ startS: 0, endS: 12.5 }]);
  });
});

describe('on real speech', () => {
  it('finds the pauses between the clips', async () => {
    const silences = await detectSilences(recording.file);
    // Every pause we inserted is found (clips have their own short pauses, too).
    for (const gap of recording.gaps.slice(0, -1)) {
      expect(silences.some((s) => s.startS <= gap.startS + 0.3 && s.endS >= gap.endS - 0.3)).toBe(
        true,
      );
    }
  });

  it('cuts every chunk boundary inside a pause, and the chunks add up to the recording', async () => {
    const silences = await detectSilences(recording.file);
    const spans = planChunks(recording.durationS, silences, { chunkS: 12, windowS: 5 });
    expect(spans.length).toBeGreaterThan(3);
    for (const span of spans.slice(0, -1)) {
      expect(silences.some((s) => s.startS < span.endS && span.endS < s.endS)).toBe(true);
    }
    const lengths = await Promise.all(
      spans.map(async (span, i) => {
        const out = join(dir, `chunk-${i}.wav`);
        await extractAudio(recording.file, out, span);
        return durationOf(out);
      }),
    );
    const total = lengths.reduce((a, b) => a + b, 0);
    expect(Math.abs(total - recording.durationS)).toBeLessThan(0.05);
    spans.forEach((span, i) => expect(lengths[i]).toBeCloseTo(span.endS - span.startS, 1));
  });
});

describe('offsetSegments', () => {
  it('moves segments to the recording time line and keeps them inside the chunk', () => {
    const span = { startS: 60, endS: 90 };
    expect(
      offsetSegments(
        [
          { start: 0.5, end: 2, text: 'a' },
          { start: 29, end: 31, text: 'b' },
        ],
        span,
      ),
    ).toEqual([
      { start: 60.5, end: 62, text: 'a' },
      { start: 89, end: 90, text: 'b' },
    ]);
  });
});
