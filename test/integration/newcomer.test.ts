/**
 * What a newcomer sees running the built service with no settings (noop
 * backend, memory store), as the README's quick start does: the startup
 * line says where the config lives in plain words, an enqueued job shows up
 * in the log at the default level, Ctrl-C ends cleanly.
 */
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { call, enqueueRequest } from '../support/jack.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

describe('the built service with no settings', () => {
  let jack: SpawnedJack | undefined;
  afterEach(async () => {
    await jack?.kill();
    jack = undefined;
  });

  it('says memory plainly, logs an accepted job at info, and exits 0 on Ctrl-C', async () => {
    const started = await startBuiltJack();
    jack = started;
    const listening = started.logs.find((l) => l.msg.startsWith('jack listening on'));
    expect(listening?.store).toBe('memory (this process, lost at exit)');

    const jobs = new BackgroundJobsClient(started.address, credentials.createInsecure());
    try {
      const { jobId } = await call(
        jobs,
        'enqueue',
        enqueueRequest({ producerId: 'prod_new', jobType: 'hello', payload: Buffer.from('{}') }),
      );
      const accepted = await started.waitForLog(
        (l) => l.msg === 'noop backend accepted job',
        5_000,
      );
      expect(accepted).toMatchObject({ level: 'info', jobId, jobType: 'hello' });
    } finally {
      jobs.close();
    }

    started.signal('SIGINT');
    expect(await started.exited).toEqual({ code: 0, signal: null });
  });

  it('prints the console address with HTTP_PORT and serves the built console there', async () => {
    const started = await startBuiltJack({ HTTP_PORT: '0' });
    jack = started;
    const listening = started.logs.find((l) => l.msg.startsWith('jack listening on'));
    const consoleUrl = String(listening?.consoleUrl);
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(listening?.msg).toContain(`console at ${consoleUrl}`);
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Jack console</title>');
  });
});
