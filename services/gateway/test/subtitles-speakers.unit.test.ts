import { toCues, toSrt, toVtt } from '../src/subtitles.js';

describe('speakers in subtitles', () => {
  const segments = [
    { start: 0, end: 1.5, text: 'hello there', speaker: 'A' },
    { start: 2, end: 3, text: 'hi', speaker: 'B' },
    { start: 3, end: 4, text: 'no one said' },
  ];

  test('srt leads a diarized cue with the speaker in brackets', () => {
    expect(toSrt(segments)).toBe(
      '1\n00:00:00,000 --> 00:00:01,500\n[A] hello there\n\n' +
        '2\n00:00:02,000 --> 00:00:03,000\n[B] hi\n\n' +
        '3\n00:00:03,000 --> 00:00:04,000\nno one said\n',
    );
  });

  test('vtt opens a diarized cue with a voice span', () => {
    expect(toVtt(segments)).toBe(
      'WEBVTT\n\n' +
        '00:00:00.000 --> 00:00:01.500\n<v A>hello there\n\n' +
        '00:00:02.000 --> 00:00:03.000\n<v B>hi\n\n' +
        '00:00:03.000 --> 00:00:04.000\nno one said\n',
    );
  });

  test('every cue of a long diarized segment names its speaker; markup in a label is defused', () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const cues = toCues([{ start: 0, end: 20, text, speaker: 'A' }]);
    expect(cues.length).toBeGreaterThan(1);
    expect(cues.every((c) => c.speaker === 'A')).toBe(true);
    const vtt = toVtt([{ start: 0, end: 1, text: 'x', speaker: 'Ann <b>\nLee' }]);
    expect(vtt).toContain('\n<v Ann b Lee>x\n');
    // The label counts against srt's line length: no line over 42 characters.
    const srt = toSrt([{ start: 0, end: 20, text, speaker: 'A' }]);
    for (const line of srt.split('\n')) expect(line.length).toBeLessThanOrEqual(42);
  });
});
