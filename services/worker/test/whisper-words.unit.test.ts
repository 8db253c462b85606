import { joinWhisperPieces } from '../src/engines/whisper-words.js';

// Pieces as whisper.cpp cuts them with tokenTimestamps and maxLen 1 (times in ms).
const pieces = [
  { text: ' And', t0: 0, t1: 320 },
  { text: ' so', t0: 320, t1: 600 },
  { text: ',', t0: 600, t1: 640 },
  { text: ' my', t0: 700, t1: 900 },
  { text: ' fellow', t0: 900, t1: 1300 },
  { text: ' Americ', t0: 1300, t1: 1700 },
  { text: 'ans', t0: 1700, t1: 2000 },
  { text: '', t0: 2000, t1: 2000 },
  { text: ' ask', t0: 3000, t1: 3300 },
  { text: ' not', t0: 3300, t1: 3700 },
  { text: '.', t0: 3700, t1: 3750 },
];

describe('whisper.cpp token pieces into words and segments', () => {
  test('tokens join into words; punctuation stays on its word; segments come back', () => {
    const { segments, words } = joinWhisperPieces(pieces, [8, 3]);
    expect(words).toEqual([
      { word: 'And', start: 0, end: 0.32 },
      { word: 'so,', start: 0.32, end: 0.64 },
      { word: 'my', start: 0.7, end: 0.9 },
      { word: 'fellow', start: 0.9, end: 1.3 },
      { word: 'Americans', start: 1.3, end: 2 },
      { word: 'ask', start: 3, end: 3.3 },
      { word: 'not.', start: 3.3, end: 3.75 },
    ]);
    expect(segments).toEqual([
      { start: 0, end: 2, text: 'And so, my fellow Americans' },
      { start: 3, end: 3.75, text: 'ask not.' },
    ]);
  });

  test('a word never runs across two segments, even without a leading space', () => {
    const { words } = joinWhisperPieces(
      [
        { text: 'Hello', t0: 0, t1: 500 },
        { text: 'world', t0: 600, t1: 900 },
      ],
      [1, 1],
    );
    expect(words.map((w) => w.word)).toEqual(['Hello', 'world']);
  });

  test('group counts that do not add up leave every piece its own segment', () => {
    const { segments, words } = joinWhisperPieces(pieces.slice(0, 3), [2]);
    expect(segments.map((s) => s.text)).toEqual(['And', 'so', ',']);
    expect(words).toHaveLength(3);
  });
});
