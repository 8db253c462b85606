import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ConfigError,
  gatewaySchema,
  notifierSchema,
  parseEnv,
  workerSchema,
} from '../src/index.js';

const valid = { TOKEN_SECRET: 'x'.repeat(32), S3_BUCKET: 'uploads' };

describe('parseEnv', () => {
  it('applies defaults and coerces types', () => {
    const config = parseEnv(gatewaySchema, {
      ...valid,
      GATEWAY_PORT: '9000',
      S3_FORCE_PATH_STYLE: 'false',
    });
    expect(config.GATEWAY_PORT).toBe(9000);
    expect(config.S3_FORCE_PATH_STYLE).toBe(false);
    expect(config.AMQP_PREFIX).toBe('');
    expect(config.MAX_UPLOAD_BYTES).toBe(10 * 1024 ** 3);
    expect(config.ENGINES).toEqual(['sphinx']);
  });

  it('parses the gateway engine list and refuses an unknown engine, naming the variable', () => {
    expect(parseEnv(gatewaySchema, { ...valid, ENGINES: 'sphinx, openai' }).ENGINES).toEqual([
      'sphinx',
      'openai',
    ]);
    expect(() => parseEnv(gatewaySchema, { ...valid, ENGINES: 'sphinx,nope' })).toThrow(/ENGINES/);
    expect(() => parseEnv(gatewaySchema, { ...valid, ENGINES: ' , ' })).toThrow(/ENGINES/);
    expect(
      parseEnv(gatewaySchema, { ...valid, CORS_ORIGINS: 'https://a.example, *' }).CORS_ORIGINS,
    ).toEqual(['https://a.example', '*']);
  });

  it('treats empty variables as unset', () => {
    expect(parseEnv(workerSchema, { ...valid, WORKER_CONCURRENCY: '' }).WORKER_CONCURRENCY).toBe(1);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseEnv(workerSchema, {
        DATABASE_URL: 'not a url',
        WORKER_CONCURRENCY: '0',
        LOG_LEVEL: 'loud',
        AMQP_PREFIX: 'Has Spaces',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of [
      'DATABASE_URL',
      'WORKER_CONCURRENCY',
      'LOG_LEVEL',
      'AMQP_PREFIX',
      'S3_BUCKET',
    ]) {
      expect(message).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('rejects out-of-range ports', () => {
    expect(() => parseEnv(notifierSchema, { ...valid, NOTIFIER_PORT: '70000' })).toThrow(
      /NOTIFIER_PORT/,
    );
  });
});

describe('a service started with bad configuration', () => {
  it.each(['gateway', 'worker', 'notifier'])('%s exits 2 naming the variable', (service) => {
    const main = join(__dirname, '..', '..', '..', 'services', service, 'dist', 'main.js');
    const result = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, TOKEN_SECRET: 'short', S3_BUCKET: 'b', DATABASE_URL: 'nope' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('DATABASE_URL');
    // Only the services that sign or verify events tokens need the secret.
    if (service === 'worker') expect(result.stderr).not.toContain('TOKEN_SECRET');
    else expect(result.stderr).toContain('TOKEN_SECRET');
  });
});
