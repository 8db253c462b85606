import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Each external system behind its one adapter: a client library may be imported only in
 * the files that adapt it, so the rest of the code depends on our interfaces, not on it.
 */
const adapters = [
  {
    modules: ['pg', 'kysely'],
    home: ['packages/db/**'],
    use: 'Postgres goes through @transcribe/db (types too: re-export them from there)',
  },
  {
    modules: ['amqplib', 'amqp-connection-manager'],
    home: ['packages/queue/**'],
    use: 'RabbitMQ goes through @transcribe/queue',
  },
  {
    modules: ['@aws-sdk/*'],
    home: ['packages/storage/**'],
    use: 'S3 goes through @transcribe/storage',
  },
  {
    modules: ['fluent-ffmpeg'],
    home: ['services/worker/src/media.ts'],
    use: "ffmpeg goes through the worker's media.ts",
  },
  {
    modules: ['openai'],
    home: ['services/worker/src/engines/openai*.ts'],
    use: "the OpenAI API goes through the worker's openai engine",
  },
  {
    modules: ['ws'],
    home: ['services/notifier/src/hub.ts', 'packages/client/src/**'],
    use: "WebSockets go through the notifier's hub.ts (serving) or @transcribe/client",
  },
];

/** Code that may reach any system directly: it sets the systems up or pokes them from outside. */
const fenceExempt = ['**/test/**', '**/bench/**', 'scripts/**', 'packages/testkit/**'];

/** The rule forbidding every adapter's modules except `except`'s. */
function fence(except) {
  return [
    'error',
    {
      patterns: adapters
        .filter((adapter) => adapter !== except)
        .map((adapter) => ({
          group: adapter.modules.flatMap((m) => (m.endsWith('/*') ? [m] : [m, `${m}/*`])),
          message: `${adapter.use}.`,
        })),
    },
  ];
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '*.cjs', 'bench/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  { rules: { 'no-restricted-imports': fence() } },
  ...adapters.map((adapter) => ({
    files: adapter.home,
    rules: { 'no-restricted-imports': fence(adapter) },
  })),
  { files: fenceExempt, rules: { 'no-restricted-imports': 'off' } },
  // The gateway's web app (built by Vite into dist/ui) runs in the browser.
  { files: ['services/gateway/web/src/**/*.ts'], languageOptions: { globals: globals.browser } },
);
