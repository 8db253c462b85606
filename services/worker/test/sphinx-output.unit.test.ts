import { offsetSegments, offsetWords } from '../src/chunking.js';
import type { Utterance } from '../src/engines/sphinx-output.js';
import { sphinxOutputReader } from '../src/engines/sphinx-output.js';

// pocketsphinx_continuous -time yes on fixtures/audio/jfk.wav (Debian's en-us model),
// cut short, with a filler-only utterance and a [NOISE] added.
const OUTPUT = `and then our my arm arrow
<s> 0.000 0.040 0.998900
and 0.050 0.160 0.032758
then 0.170 0.670 0.213530
our(3) 0.680 0.980 0.207841
my 0.990 1.280 0.942323
arm 1.290 1.750 0.121281
arrow 1.760 2.300 0.000685
</s> 2.310 2.440 1.000000

<s> 2.500 2.600 1.000000
[NOISE] 2.610 2.900 0.500000
</s> 2.910 3.000 1.000000
and not
<s> 3.170 3.280 1.000300
and(2) 3.290 3.730 0.985603
<sil> 3.740 3.980 0.828680
not 3.990 4.300 0.817730
++BREATH++ 4.300 4.305 0.5
</s> 4.310 4.760 1.000000`;

function read(output: string): Utterance[] {
  const reader = sphinxOutputReader();
  const utterances: Utterance[] = [];
  for (const line of output.split('\n')) {
    const u = reader.line(line);
    if (u) utterances.push(u);
  }
  const last = reader.end();
  if (last) utterances.push(last);
  return utterances;
}

describe('pocketsphinx -time yes output', () => {
  const utterances = read(OUTPUT);

  test('one utterance per <s>…</s>, fillers and markers dropped', () => {
    expect(utterances).toHaveLength(3);
    expect(utterances.map((u) => u.segment?.text)).toEqual([
      'and then our my arm arrow',
      undefined,
      'and not',
    ]);
    expect(utterances[1]?.words).toEqual([]);
    // Progress goes as far as the decoder got, fillers included.
    expect(utterances.map((u) => u.end)).toEqual([2.44, 3, 4.76]);
  });

  test('words carry times, no pronunciation suffix, and the posterior as confidence', () => {
    const words = utterances.flatMap((u) => u.words);
    expect(words.map((w) => w.word)).toEqual([
      'and',
      'then',
      'our',
      'my',
      'arm',
      'arrow',
      'and',
      'not',
    ]);
    expect(words[2]).toEqual({ word: 'our', start: 0.68, end: 0.98, confidence: 0.2078 });
    for (const w of words) {
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
    }
  });

  test('a segment spans its first to last word', () => {
    const [first] = utterances;
    expect(first?.segment).toEqual({ start: 0.05, end: 2.3, text: 'and then our my arm arrow' });
  });

  test('a posterior a hair over 1 (rounding) is clamped; one that is no probability is left out', () => {
    const [u] = read('<s> 0 0.1 1\nhello 0.1 0.5 1.000300\nworld 0.5 0.9 7.5\n</s> 0.9 1 1');
    expect(u?.words).toEqual([
      { word: 'hello', start: 0.1, end: 0.5, confidence: 1 },
      { word: 'world', start: 0.5, end: 0.9 },
    ]);
  });
});

describe('offsetting a chunk onto the recording', () => {
  const span = { startS: 10, endS: 12 };

  test('words and segments move by the chunk start and stay inside the chunk', () => {
    expect(
      offsetWords(
        [
          { word: 'a', start: 0.1, end: 0.5, confidence: 0.5 },
          { word: 'b', start: 1.9, end: 2.4 },
        ],
        span,
      ),
    ).toEqual([
      { word: 'a', start: 10.1, end: 10.5, confidence: 0.5 },
      { word: 'b', start: 11.9, end: 12 },
    ]);
  });

  test('a segment keeps its engine speaker label', () => {
    expect(offsetSegments([{ start: 0, end: 1, text: 'hi', speaker: 'B' }], span)).toEqual([
      { start: 10, end: 11, text: 'hi', speaker: 'B' },
    ]);
  });
});
