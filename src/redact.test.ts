import { describe, expect, it } from 'vitest';
import { logSink } from '../test/support/jack.js';
import { createLogger } from './logger.js';
import { redactDeep, redactSecrets, redactUrl } from './redact.js';

describe('redactUrl / redactSecrets', () => {
  it.each([
    ['http://user:s3cret@gcs.local:4443', 'http://***@gcs.local:4443'],
    ['https://token@pubsub.example/v1', 'https://***@pubsub.example/v1'],
    ['redis://:s3cret@10.0.0.1:6379/0', 'redis://***@10.0.0.1:6379/0'],
    ['https://h/p?access_token=s3cret&x=1', 'https://h/p?access_token=***&x=1'],
    ['https://h/p?x=1&API_KEY=s3cret#f', 'https://h/p?x=1&API_KEY=***#f'],
    ['https://pubsub.googleapis.com', 'https://pubsub.googleapis.com'],
    ['user@example.com wrote', 'user@example.com wrote'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('masks every URL inside a longer text, e.g. a library error', () => {
    const text =
      'request to http://a:one@h1/x failed, then "https://b:two@h2:80/y?sig=three" refused';
    const masked = redactSecrets(text);
    expect(masked).toBe(
      'request to http://***@h1/x failed, then "https://***@h2:80/y?sig=***" refused',
    );
  });

  it('masks API key secrets (keeping the key id) and bearer tokens', () => {
    const token = `jk_0123456789abcdef_${'A'.repeat(43)}`;
    expect(redactSecrets(`refused ${token} for prod_1`)).toBe(
      'refused jk_0123456789abcdef_*** for prod_1',
    );
    expect(redactSecrets('{"authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}')).toBe(
      '{"authorization":"Bearer ***"}',
    );
    expect(redactSecrets('a bearer token is required')).toBe('a bearer token is required');
    expect(redactSecrets('expected "Bearer <token>"')).toBe('expected "Bearer <token>"');
  });

  it('redactDeep copies objects and arrays, leaving other values alone', () => {
    const config = {
      store: { kind: 'gcs', apiEndpoint: 'http://u:p@h', port: 1 },
      list: ['redis://:x@r'],
      at: new Date(0),
      none: undefined,
    };
    expect(redactDeep(config)).toEqual({
      store: { kind: 'gcs', apiEndpoint: 'http://***@h', port: 1 },
      list: ['redis://***@r'],
      at: new Date(0),
      none: undefined,
    });
    expect(config.store.apiEndpoint).toBe('http://u:p@h');
  });
});

describe('the logger', () => {
  it('masks URL credentials in every field and error text of every line', () => {
    const sink = logSink();
    const logger = createLogger({ level: 'info' }, sink.stream);
    logger.info({ endpoint: 'http://user:s3cret@gcs.local' }, 'store ready');
    logger.error(
      { err: new Error('connect ECONNREFUSED for https://svc:s3cret@pubsub.local/v1') },
      'publish failed at https://x:s3cret@h',
    );
    expect(sink.lines).toHaveLength(2);
    const written = JSON.stringify(sink.lines);
    expect(written).not.toContain('s3cret');
    expect(sink.lines[0]?.endpoint).toBe('http://***@gcs.local');
    expect(sink.lines[1]?.msg).toBe('publish failed at https://***@h');
  });
});
