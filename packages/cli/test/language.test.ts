// How the CLI shows a job's language and a refused one (issue 12).
import { ApiError } from '@transcribe/client';
import { ExitCode } from '../src/exit-codes.js';
import { describeLanguage } from '../src/output.js';
import { describeError } from '../src/report-error.js';

it('shows where the language came from when it was not simply requested', () => {
  expect(
    describeLanguage({
      language: 'en-US',
      requestedLanguage: 'en-US',
      languageSource: 'requested',
    }),
  ).toBe('en-US');
  expect(
    describeLanguage({ language: 'fr', requestedLanguage: 'auto', languageSource: 'detected' }),
  ).toBe('fr (detected, asked auto)');
  expect(
    describeLanguage({ language: 'auto', requestedLanguage: 'auto', languageSource: null }),
  ).toBe('auto (to be detected)');
});

it('language_unsupported is a usage error (exit 2): the command line needs another --language', () => {
  const refused = new ApiError(
    400,
    'language_unsupported',
    'engine "sphinx" cannot transcribe "fr"; it supports: en',
  );
  expect(describeError(refused)).toEqual({
    code: ExitCode.Usage,
    message: expect.stringContaining(
      'language_unsupported: engine "sphinx" cannot transcribe',
    ) as string,
  });
});
