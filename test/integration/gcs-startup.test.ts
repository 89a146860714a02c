/**
 * The built service (dist/main.js, as an operator runs it) against the fake
 * GCS server: a store that cannot be used stops startup with one clear line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGcs, startFakeGcs } from '../support/fake-gcs.js';
import { spawnJack, startBuiltJack } from '../support/spawn.js';

describe('gcs store at startup (built process)', () => {
  let gcs: FakeGcs;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    gcs.createBucket('jack-config');
  });
  afterAll(async () => {
    await gcs?.close();
  });

  const run = async (env: Record<string, string>) => {
    const jack = spawnJack({
      env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', GCS_ENDPOINT: gcs.endpoint, ...env },
    });
    try {
      return { exit: await jack.exited, stderr: jack.stderr() };
    } finally {
      await jack.kill();
    }
  };

  it('exits non-zero with one line naming the missing bucket', async () => {
    const { exit, stderr } = await run({ GCS_BUCKET: 'no-such-bucket' });
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(stderr).toBe('jack: startup failed: GCS bucket no-such-bucket does not exist\n');
  });

  it('exits non-zero with one line when access is denied', async () => {
    gcs.failAll(403);
    try {
      const { exit, stderr } = await run({ GCS_BUCKET: 'jack-config' });
      expect(exit.code).not.toBe(0);
      expect(stderr.split('\n')).toHaveLength(2);
      expect(stderr).toMatch(
        /^jack: startup failed: the config store cannot read \S+\.json: cannot read gs:\/\/jack-config\/\S+\.json: permission denied \(HTTP 403\)/,
      );
    } finally {
      gcs.heal();
    }
  });

  it('honours STORAGE_EMULATOR_HOST without credentials', async () => {
    const before = gcs.requests.length;
    const jack = await startBuiltJack({
      GCS_BUCKET: 'jack-config',
      GCS_PREFIX: 'emulated/',
      STORAGE_EMULATOR_HOST: gcs.endpoint,
    });
    try {
      const listening = jack.logs.find((l) => l.msg.startsWith('jack listening on'));
      expect(listening?.store).toBe('gcs (gs://jack-config/emulated/)');
      expect(gcs.requests.slice(before).map((r) => `${r.kind} ${r.object ?? ''}`)).toEqual(
        expect.arrayContaining([
          'bucket ',
          'metadata emulated/producers.json',
          'metadata emulated/job_types.json',
        ]),
      );
    } finally {
      jack.signal('SIGTERM');
      await jack.exited;
      await jack.kill();
    }
  });
});
