import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';
import { loadConfig } from './index.js';
import { parseRetentionMs } from './ledger.js';

const URL = 'postgres://jack:s3cret-pw@db.internal:5432/jack?sslmode=verify-full';

describe('ledger config', () => {
  it('reads every variable', () => {
    const { ledger } = loadConfig({
      JOB_LEDGER: 'postgres',
      LEDGER_DATABASE_URL: URL,
      LEDGER_WRITE_TIMEOUT: '250ms',
      LEDGER_BUFFER: '500',
      LEDGER_MAX_JOBS: '2000',
      LEDGER_RETENTION: '72h',
    });
    expect(ledger).toMatchObject({
      kind: 'postgres',
      writeTimeoutMs: 250,
      bufferSize: 500,
      maxJobs: 2000,
      retentionMs: 72 * 3_600_000,
    });
    expect(ledger.databaseUrl?.reveal()).toBe(URL);
  });

  it('takes LEDGER_DATABASE_URL alone as JOB_LEDGER=postgres', () => {
    expect(loadConfig({ LEDGER_DATABASE_URL: URL }).ledger.kind).toBe('postgres');
  });

  it('keeps the URL out of JSON and logs', () => {
    const { ledger } = loadConfig({ LEDGER_DATABASE_URL: URL });
    expect(JSON.stringify(ledger)).not.toContain('s3cret');
  });

  it('accepts off and memory', () => {
    expect(loadConfig({ JOB_LEDGER: 'off' }).ledger.kind).toBe('off');
    expect(loadConfig({ JOB_LEDGER: 'memory' }).ledger.kind).toBe('memory');
  });

  it('refuses postgres without a URL, a URL that is not postgres (without quoting it), and a URL with another ledger', () => {
    expect(configError({ JOB_LEDGER: 'postgres' }).message).toContain(
      'JOB_LEDGER=postgres needs LEDGER_DATABASE_URL',
    );
    const bad = configError({ LEDGER_DATABASE_URL: 'mysql://u:s3cret@h/db' });
    expect(bad.message).toContain('LEDGER_DATABASE_URL is not a postgres:// or postgresql:// URL');
    expect(bad.message).not.toContain('s3cret');
    expect(configError({ JOB_LEDGER: 'memory', LEDGER_DATABASE_URL: URL }).message).toContain(
      'LEDGER_DATABASE_URL is set but JOB_LEDGER=memory',
    );
    expect(configError({ JOB_LEDGER: 'sqlite' }).message).toContain(
      'JOB_LEDGER="sqlite" is not one of memory|postgres|off',
    );
  });

  it('refuses bounds and durations that are not positive, naming the variable', () => {
    const err = configError({
      LEDGER_WRITE_TIMEOUT: '0',
      LEDGER_BUFFER: '0',
      LEDGER_MAX_JOBS: '-1',
      LEDGER_RETENTION: 'forever',
    });
    for (const name of [
      'LEDGER_WRITE_TIMEOUT',
      'LEDGER_BUFFER',
      'LEDGER_MAX_JOBS',
      'LEDGER_RETENTION',
    ]) {
      expect(err.message).toContain(name);
    }
  });

  it('reads retention in days or as a Go duration', () => {
    expect(parseRetentionMs('7d')).toBe(7 * 86_400_000);
    expect(parseRetentionMs('90m')).toBe(90 * 60_000);
    expect(parseRetentionMs('0d')).toBeUndefined();
    expect(parseRetentionMs('1.5d')).toBeUndefined();
  });
});
