/**
 * SPEC §6: several processes sharing one CONFIG_DIR lose no acknowledged
 * write (the exclusive lock of proper-lockfile around compare-and-write), a
 * lock left by a killed holder is taken over, and temp files left by a
 * killed writer are removed at the next start.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdminServiceClient } from '../../src/gen/jack/admin.js';
import { decodeProducers } from '../../src/storage/codec.js';
import { createLocalObjects } from '../../src/storage/local.js';
import { call, startJack } from '../support/jack.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

describe('local directory store shared by several processes', () => {
  let dir: string;
  const running: SpawnedJack[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-local-shared-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((j) => j.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  /** `count` CreateProducer calls, `parallel` at a time; the ids acknowledged and the failures. */
  const createMany = async (address: string, prefix: string, count: number, parallel: number) => {
    const admin = new AdminServiceClient(address, credentials.createInsecure());
    const acknowledged: string[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        try {
          const created = await call(admin, 'createProducer', {
            name: `${prefix}-${n}`,
            description: '',
          });
          acknowledged.push(created.producer?.producerId ?? '');
        } catch (err) {
          failures.push((err as ServiceError).message);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: parallel }, worker));
    } finally {
      admin.close();
    }
    return { acknowledged, failures };
  };

  it('loses none of 2 × 100 concurrent creates per round, over 3 rounds', async () => {
    const env = { CONFIG_DIR: dir, CONFIG_REFRESH_INTERVAL: '1s' };
    const [a, b] = await Promise.all([startBuiltJack(env), startBuiltJack(env)]);
    running.push(a, b);
    const acknowledged: string[] = [];
    const failures: string[] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        createMany(a.address, `a${round}`, 100, 10),
        createMany(b.address, `b${round}`, 100, 10),
      ]);
      for (const r of results) {
        acknowledged.push(...r.acknowledged);
        failures.push(...r.failures);
      }
      const stored = new Set(
        decodeProducers(await readFile(join(dir, 'producers.json'), 'utf8')).map(
          (p) => p.producerId,
        ),
      );
      const lost = acknowledged.filter((id) => !stored.has(id));
      expect({ round, lost }).toEqual({ round, lost: [] });
    }
    expect(failures).toEqual([]);
    expect(acknowledged).toHaveLength(600);
  }, 120_000);

  it('takes over the lock of a holder that was killed', async () => {
    // What a SIGKILLed writer leaves: the lock directory, no longer refreshed.
    const lock = join(dir, '.producers.json.lock');
    await mkdir(lock);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);
    const io = createLocalObjects(dir);
    const started = Date.now();
    await io.write('producers.json', '{"producers":[]}', '0');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await readdir(dir)).sort()).toEqual(['.producers.json.version', 'producers.json']);
  });

  it('waits for a live holder instead of writing beside it', async () => {
    const io = createLocalObjects(dir);
    const lock = join(dir, '.producers.json.lock');
    await mkdir(lock);
    const write = io.write('producers.json', '{"producers":[]}', '0');
    let done = false;
    void write.then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    await rm(lock, { recursive: true });
    await write;
    expect(done).toBe(true);
  });

  it('gives up on a lock a live holder keeps, with UNAVAILABLE, instead of retrying forever', async () => {
    const io = createLocalObjects(dir);
    const lock = join(dir, '.producers.json.lock');
    await mkdir(lock);
    // A live holder refreshes its lock: it is never stale.
    const refresh = setInterval(() => {
      const now = new Date();
      void utimes(lock, now, now).catch(() => {});
    }, 200);
    try {
      const outcome = await Promise.race([
        io.write('producers.json', '{"producers":[]}', '0').then(
          () => 'written',
          (err: Error) => err.message,
        ),
        new Promise((r) => setTimeout(() => r('still waiting'), 8_000)),
      ]);
      expect(outcome).toBe('the config store is busy (producers.json stays locked); retry');
    } finally {
      clearInterval(refresh);
    }
  });

  it('removes the temp files of a killed writer at startup, and only those', async () => {
    await writeFile(join(dir, '.producers.json.1234.deadbeef.tmp'), '{"producers": [');
    await writeFile(join(dir, '.job_types.json.99.0badf00d.tmp'), '');
    await writeFile(join(dir, '.api_keys.json.7.c0ffee00.tmp'), '{"apiKeys": [');
    await writeFile(join(dir, 'notes.txt'), 'an operator file');
    const jack = await startJack({ CONFIG_DIR: dir });
    try {
      expect((await readdir(dir)).sort()).toEqual(['notes.txt']);
      expect(jack.logs).toContainEqual(
        expect.objectContaining({
          msg: 'removed temp files of an interrupted write',
          files: expect.arrayContaining([
            '.producers.json.1234.deadbeef.tmp',
            '.job_types.json.99.0badf00d.tmp',
            '.api_keys.json.7.c0ffee00.tmp',
          ]),
        }),
      );
    } finally {
      await jack.close();
    }
  });
});
