import { z } from 'zod';

/**
 * The languages multilingual Whisper models know, by the code whisper.cpp and OpenAI's API
 * take, with the English name OpenAI's `verbose_json` answers in `language` (whisper's
 * tokenizer.py LANGUAGES; `jw` and `haw` are whisper's spelling). One list for the gateway,
 * the worker and the docs, so they cannot disagree.
 */
export const WHISPER_LANGUAGE_NAMES = {
  en: 'english',
  zh: 'chinese',
  de: 'german',
  es: 'spanish',
  ru: 'russian',
  ko: 'korean',
  fr: 'french',
  ja: 'japanese',
  pt: 'portuguese',
  tr: 'turkish',
  pl: 'polish',
  ca: 'catalan',
  nl: 'dutch',
  ar: 'arabic',
  sv: 'swedish',
  it: 'italian',
  id: 'indonesian',
  hi: 'hindi',
  fi: 'finnish',
  vi: 'vietnamese',
  he: 'hebrew',
  uk: 'ukrainian',
  el: 'greek',
  ms: 'malay',
  cs: 'czech',
  ro: 'romanian',
  da: 'danish',
  hu: 'hungarian',
  ta: 'tamil',
  no: 'norwegian',
  th: 'thai',
  ur: 'urdu',
  hr: 'croatian',
  bg: 'bulgarian',
  lt: 'lithuanian',
  la: 'latin',
  mi: 'maori',
  ml: 'malayalam',
  cy: 'welsh',
  sk: 'slovak',
  te: 'telugu',
  fa: 'persian',
  lv: 'latvian',
  bn: 'bengali',
  sr: 'serbian',
  az: 'azerbaijani',
  sl: 'slovenian',
  kn: 'kannada',
  et: 'estonian',
  mk: 'macedonian',
  br: 'breton',
  eu: 'basque',
  is: 'icelandic',
  hy: 'armenian',
  ne: 'nepali',
  mn: 'mongolian',
  bs: 'bosnian',
  kk: 'kazakh',
  sq: 'albanian',
  sw: 'swahili',
  gl: 'galician',
  mr: 'marathi',
  pa: 'punjabi',
  si: 'sinhala',
  km: 'khmer',
  sn: 'shona',
  yo: 'yoruba',
  so: 'somali',
  af: 'afrikaans',
  oc: 'occitan',
  ka: 'georgian',
  be: 'belarusian',
  tg: 'tajik',
  sd: 'sindhi',
  gu: 'gujarati',
  am: 'amharic',
  yi: 'yiddish',
  lo: 'lao',
  uz: 'uzbek',
  fo: 'faroese',
  ht: 'haitian creole',
  ps: 'pashto',
  tk: 'turkmen',
  nn: 'nynorsk',
  mt: 'maltese',
  sa: 'sanskrit',
  lb: 'luxembourgish',
  my: 'myanmar',
  bo: 'tibetan',
  tl: 'tagalog',
  mg: 'malagasy',
  as: 'assamese',
  tt: 'tatar',
  haw: 'hawaiian',
  ln: 'lingala',
  ha: 'hausa',
  ba: 'bashkir',
  jw: 'javanese',
  su: 'sundanese',
  yue: 'cantonese',
} as const satisfies Record<string, string>;

export const WHISPER_LANGUAGES: readonly string[] = Object.keys(WHISPER_LANGUAGE_NAMES);

/**
 * Where a job's `language` came from: as `requested`; `detected` by the engine (for
 * `auto`); the engine's only language (`engine-default`, for `auto` on an engine that
 * cannot detect); `undetermined` (`und`) when a detecting engine named none.
 */
export const LanguageSource = z.enum(['requested', 'detected', 'engine-default', 'undetermined']);
export type LanguageSource = z.infer<typeof LanguageSource>;

/** The BCP-47 tag for "undetermined". */
export const UNDETERMINED_LANGUAGE = 'und';

/** What one engine (with one model) can do about languages. */
export interface LanguageSupport {
  /** Primary subtags it transcribes, lowercase; the first is its language for `auto` when it cannot detect. */
  languages: readonly string[];
  /** Whether it reports the language it heard, so `auto` resolves to that. */
  detects: boolean;
}

/** `en-US` → `en`: engines are told, and compared on, the primary subtag only. */
export function primarySubtag(tag: string): string {
  return (tag.split('-')[0] ?? tag).toLowerCase();
}

/** `auto` always passes (the engine detects, or falls back to its own language). */
export function supportsLanguage(support: LanguageSupport, requested: string): boolean {
  return requested === 'auto' || support.languages.includes(primarySubtag(requested));
}

/**
 * An engine's answer (`fr`, `French`, `fr-FR`) as a supported primary subtag, or
 * undefined when it is none of the known codes or names.
 */
export function normalizeDetectedLanguage(value: string | null | undefined): string | undefined {
  const v = value?.trim().toLowerCase();
  if (!v) return undefined;
  const code = primarySubtag(v);
  if (/^[a-z]{2,3}$/.test(code) && code !== UNDETERMINED_LANGUAGE) return code;
  const byName = Object.entries(WHISPER_LANGUAGE_NAMES).find(([, name]) => name === v);
  return byName?.[0];
}

/**
 * What a job's language is before any audio is heard: the requested tag, or for `auto`
 * the engine's language when the engine cannot detect; null when it is left to detection.
 */
export function languageAtCreation(
  requested: string,
  support: LanguageSupport,
): { language: string; source: LanguageSource } | null {
  if (requested !== 'auto') return { language: requested, source: 'requested' };
  if (support.detects) return null;
  const own = support.languages[0];
  return own
    ? { language: own, source: 'engine-default' }
    : { language: UNDETERMINED_LANGUAGE, source: 'undetermined' };
}
