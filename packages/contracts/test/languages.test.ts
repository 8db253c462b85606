import {
  languageAtCreation,
  normalizeDetectedLanguage,
  primarySubtag,
  supportsLanguage,
  WHISPER_LANGUAGES,
} from '../src/index.js';

it("holds whisper's languages once each, as lowercase codes", () => {
  expect(WHISPER_LANGUAGES.length).toBeGreaterThanOrEqual(99);
  expect(new Set(WHISPER_LANGUAGES).size).toBe(WHISPER_LANGUAGES.length);
  expect(WHISPER_LANGUAGES.every((l) => /^[a-z]{2,3}$/.test(l))).toBe(true);
  expect(WHISPER_LANGUAGES).toEqual(expect.arrayContaining(['en', 'fr', 'de', 'ja', 'yue']));
});

it('compares on the primary subtag, and always lets auto through', () => {
  const english = { languages: ['en'], detects: false };
  expect(primarySubtag('en-US')).toBe('en');
  expect(supportsLanguage(english, 'en-GB')).toBe(true);
  expect(supportsLanguage(english, 'fr')).toBe(false);
  expect(supportsLanguage(english, 'auto')).toBe(true);
});

it('reads what engines answer: codes, regional tags and OpenAI names', () => {
  expect(normalizeDetectedLanguage('en')).toBe('en');
  expect(normalizeDetectedLanguage('fr-FR')).toBe('fr');
  expect(normalizeDetectedLanguage('English')).toBe('en');
  expect(normalizeDetectedLanguage('haitian creole')).toBe('ht');
  expect(normalizeDetectedLanguage('')).toBeUndefined();
  expect(normalizeDetectedLanguage('und')).toBeUndefined();
  expect(normalizeDetectedLanguage('klingon')).toBeUndefined();
});

it('knows at creation what it can: a requested tag, the only language of a non-detecting engine', () => {
  expect(languageAtCreation('en-US', { languages: ['en'], detects: false })).toEqual({
    language: 'en-US',
    source: 'requested',
  });
  expect(languageAtCreation('auto', { languages: ['nl'], detects: false })).toEqual({
    language: 'nl',
    source: 'engine-default',
  });
  expect(languageAtCreation('auto', { languages: WHISPER_LANGUAGES, detects: true })).toBeNull();
});
