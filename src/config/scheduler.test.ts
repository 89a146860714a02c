import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';
import { loadConfig } from './index.js';

const CLOUD_TASKS = {
  QUEUE_BACKEND: 'pubsub',
  PUBSUB_PROJECT: 'p',
  PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
  CLOUD_TASKS_PROJECT: 'p',
  CLOUD_TASKS_LOCATION: 'europe-west1',
  CLOUD_TASKS_QUEUE: 'jack',
  CLOUD_TASKS_SERVICE_ACCOUNT: 'jack@p.iam.gserviceaccount.com',
};
const POSTGRES = { LEDGER_DATABASE_URL: 'postgres://jack:pw@db:5432/jack' };

describe('scheduler config (SPEC §16)', () => {
  it('is none by default, and cloudtasks when CLOUD_TASKS_* are set', () => {
    expect(loadConfig({}).scheduler.kind).toBe('none');
    expect(loadConfig(CLOUD_TASKS).scheduler.kind).toBe('cloud-tasks');
    expect(loadConfig({ ...CLOUD_TASKS, SCHEDULER: 'cloudtasks' }).scheduler.kind).toBe(
      'cloud-tasks',
    );
  });

  it('SCHEDULER=ledger works with any backend, on the postgres or the memory ledger', () => {
    expect(loadConfig({ SCHEDULER: 'ledger', ...POSTGRES }).scheduler).toEqual({
      kind: 'ledger',
      inMemory: false,
    });
    expect(loadConfig({ SCHEDULER: 'ledger', JOB_LEDGER: 'memory' }).scheduler).toEqual({
      kind: 'ledger',
      inMemory: true,
    });
  });

  it('refuses ledger together with CLOUD_TASKS_*, in one line', () => {
    const { message } = configError({ ...CLOUD_TASKS, ...POSTGRES, SCHEDULER: 'ledger' });
    expect(message).toMatch(/SCHEDULER=ledger and CLOUD_TASKS_\* are both set/);
    expect(message).not.toContain('\n');
  });

  it('refuses ledger with JOB_LEDGER=off', () => {
    expect(configError({ SCHEDULER: 'ledger', JOB_LEDGER: 'off' }).message).toMatch(
      /SCHEDULER=ledger .*JOB_LEDGER=off/,
    );
  });

  it('refuses an unknown SCHEDULER, none with CLOUD_TASKS_*, and cloudtasks without them', () => {
    expect(configError({ SCHEDULER: 'cron' }).message).toMatch(/SCHEDULER/);
    expect(configError({ ...CLOUD_TASKS, SCHEDULER: 'none' }).message).toMatch(
      /SCHEDULER=none but CLOUD_TASKS_\* are set/,
    );
    expect(configError({ SCHEDULER: 'cloudtasks' }).message).toMatch(
      /SCHEDULER=cloudtasks needs CLOUD_TASKS_PROJECT/,
    );
  });
});
