// What `pocketsphinx_continuous -time yes` prints, read line by line: per utterance the
// hypothesis, then one `token start end posterior` line per token, `<s>` to `</s>`.
import type { EngineSegment, EngineWord } from './engine.js';

// `word start end posterior`, as printed by `-time yes`.
const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\S+)$/;

export interface Utterance {
  segment?: EngineSegment;
  words: EngineWord[];
  /** End of the last token seen, fillers included: how far the decoder has got. */
  end: number;
}

/**
 * Feeds output lines in; each finished utterance comes back from `line` (or from `end`
 * for the last one). Utterances of fillers alone give no segment and no words.
 */
export function sphinxOutputReader(): {
  line(text: string): Utterance | undefined;
  end(): Utterance | undefined;
} {
  let current: Utterance | undefined;
  const flush = (): Utterance | undefined => {
    const done = current;
    current = undefined;
    if (!done) return undefined;
    const first = done.words[0];
    const last = done.words.at(-1);
    if (first && last) {
      done.segment = {
        start: first.start,
        end: last.end,
        text: done.words.map((w) => w.word).join(' '),
      };
    }
    return done;
  };
  return {
    line(text) {
      const match = WORD_LINE.exec(text.trim());
      // Anything but a word line is the hypothesis that opens the next utterance.
      if (!match) return flush();
      const [, token = '', start, end, score = ''] = match;
      current ??= { words: [], end: Number(end) };
      current.end = Number(end);
      if (!isFiller(token)) {
        const confidence = toConfidence(score);
        current.words.push({
          word: token.replace(/\(\d+\)$/, ''),
          start: Number(start),
          end: Number(end),
          ...(confidence !== undefined ? { confidence } : {}),
        });
      }
      return token === '</s>' ? flush() : undefined;
    },
    end: flush,
  };
}

/** `<s>`, `</s>`, `<sil>`, `[NOISE]`, `++BREATH++`: markers, not words. */
export function isFiller(token: string): boolean {
  return /^<.*>$/.test(token) || /^\[.*\]$/.test(token) || /^\+\+.*\+\+$/.test(token);
}

/**
 * The 4th column is the word's posterior probability (pocketsphinx's `ps_seg_prob`, turned
 * from log into linear by `-time yes`): in [0, 1] but for rounding (`<s>` prints 1.000300
 * on fixtures/audio/jfk.wav), so it is clamped; anything unreadable is left out.
 */
function toConfidence(score: string): number | undefined {
  const p = Number(score);
  if (!Number.isFinite(p) || p < 0 || p > 1.01) return undefined;
  return Math.round(Math.min(1, p) * 10_000) / 10_000;
}
