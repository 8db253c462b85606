import type { Segment } from '@transcribe/contracts';
import { renameSpeakers, speakerName } from '../src/speakers.js';
import { stitchChunks } from '../src/transcript.js';

const seg = (start: number, speaker?: string): Segment => ({
  start,
  end: start + 1,
  text: `at ${start}`,
  ...(speaker !== undefined ? { speaker } : {}),
});

describe('speaker renaming', () => {
  test('names speakers A, B, … in order of first appearance, matching by label', () => {
    const renamed = renameSpeakers([
      seg(0, 'spk_7'),
      seg(1, 'spk_2'),
      seg(2, 'spk_7'),
      seg(3),
      seg(4, 'spk_9'),
    ]);
    expect(renamed.map((s) => s.speaker)).toEqual(['A', 'B', 'A', undefined, 'C']);
    expect(renamed[3]).not.toHaveProperty('speaker');
  });

  test('counts past Z like spreadsheet columns', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(speakerName)).toEqual([
      'A',
      'B',
      'Z',
      'AA',
      'AB',
      'AZ',
      'BA',
      'ZZ',
      'AAA',
    ]);
  });

  test('stitching renames across chunks: a label is one speaker in every chunk', () => {
    // Each chunk was its own request; the engine named its voices afresh each time.
    const stitched = stitchChunks([
      { text: 'one two', segments: [seg(0, 'B'), seg(1, 'A')], model: 'm' },
      { text: 'three', segments: [seg(5, 'A'), seg(6, 'C')], words: [], model: 'm' },
    ]);
    expect(stitched.segments.map((s) => s.speaker)).toEqual(['A', 'B', 'B', 'C']);
  });

  test('a partial transcript names speakers as the finished one will', () => {
    const chunks = [
      { text: 'a', segments: [seg(0, 'x'), seg(1, 'y')], model: null },
      { text: 'b', segments: [seg(5, 'z'), seg(6, 'x')], model: null },
    ];
    const partial = stitchChunks(chunks.slice(0, 1)).segments.map((s) => s.speaker);
    const full = stitchChunks(chunks).segments.map((s) => s.speaker);
    expect(full.slice(0, partial.length)).toEqual(partial);
  });

  test('stitching concatenates words in chunk order', () => {
    const w = (start: number) => ({ start, end: start + 0.5, word: `w${start}` });
    const stitched = stitchChunks([
      { text: 'w0 w1', segments: [], words: [w(0), w(1)], model: null },
      { text: null, segments: [], model: null },
      { text: 'w5', segments: [], words: [w(5)], model: null },
    ]);
    expect(stitched.words.map((x) => x.word)).toEqual(['w0', 'w1', 'w5']);
  });
});
