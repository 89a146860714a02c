/**
 * The local directory store (CONFIG_DIR) through the running service, and
 * its crash safety against a writer process that is killed mid-write.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { decodeProducers } from '../../src/storage/codec.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { BUILT_MAIN, requireBuild, runToExit } from '../support/spawn.js';

/** A job of this producer and type with an empty JSON payload. */
const job = (producerId: string, jobType: string) =>
  enqueueRequest({ producerId, jobType, payload: Buffer.from('{}') });

describe('local directory store (CONFIG_DIR)', () => {
  let dir: string;
  let jack: RunningJack | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-local-store-'));
  });
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps producers and job types across a restart', async () => {
    jack = await startJack({ CONFIG_DIR: dir });
    const created = await call(jack.admin, 'createProducer', { name: 'billing', description: 'd' });
    const producerId = created.producer?.producerId ?? '';
    await call(jack.admin, 'createJobType', {
      producerId,
      name: 'send_invoice',
      queue: Queue.QUEUE_LOW,
      maxRetries: 7,
      description: '',
    });
    await jack.close();

    jack = await startJack({ CONFIG_DIR: dir });
    const got = await call(jack.admin, 'getProducer', { producerId });
    expect(got.producer).toEqual(created.producer);
    const types = await call(jack.admin, 'listJobTypes', {
      producerId,
      pageSize: 0,
      pageToken: '',
    });
    expect(types.jobTypes).toMatchObject([
      { producerId, name: 'send_invoice', queue: Queue.QUEUE_LOW, maxRetries: 7 },
    ]);
    // Enqueue knows them too: no "unregistered" warnings.
    const enqueued = await call(jack.jobs, 'enqueue', job(producerId, 'send_invoice'));
    expect(enqueued.errorMessages).toEqual([]);
  });

  it('writes through a temp file and a rename: a new inode each time, no temp file left', async () => {
    jack = await startJack({ CONFIG_DIR: dir });
    await call(jack.admin, 'createProducer', { name: 'first', description: '' });
    const before = await stat(join(dir, 'producers.json'));
    await call(jack.admin, 'createProducer', { name: 'second', description: '' });
    const after = await stat(join(dir, 'producers.json'));
    // An in-place rewrite would keep the inode; rename installs a new file.
    expect(after.ino).not.toBe(before.ino);
    expect((await readdir(dir)).sort()).toEqual(['.producers.json.version', 'producers.json']);
  });

  it.each([
    {
      form: 'snake_case, queue as enum name',
      producers: {
        producers: [
          {
            producer_id: 'prod_0000000a',
            name: 'written elsewhere',
            description: 'by another implementation',
            rate_limit_rps: 250,
            created_at: '2024-01-02T03:04:05Z',
            updated_at: '2024-01-02T03:04:05.500Z',
          },
        ],
      },
      jobTypes: {
        job_types: [
          {
            producer_id: 'prod_0000000a',
            name: 'resize',
            queue: 'QUEUE_IMMEDIATE',
            max_retries: 5,
            description: '',
            created_at: '2024-01-02T03:04:05Z',
            updated_at: '2024-01-02T03:04:05Z',
          },
        ],
      },
    },
    {
      form: 'camelCase, queue as enum number',
      producers: {
        producers: [
          {
            producerId: 'prod_0000000a',
            name: 'written elsewhere',
            description: 'by another implementation',
            rateLimitRps: 250,
            createdAt: '2024-01-02T03:04:05Z',
            updatedAt: '2024-01-02T03:04:05.500Z',
          },
        ],
      },
      jobTypes: {
        jobTypes: [
          {
            producerId: 'prod_0000000a',
            name: 'resize',
            queue: 1,
            maxRetries: 5,
            createdAt: '2024-01-02T03:04:05Z',
            updatedAt: '2024-01-02T03:04:05Z',
          },
        ],
      },
    },
  ])('loads files written by another implementation ($form)', async ({ producers, jobTypes }) => {
    await writeFile(join(dir, 'producers.json'), JSON.stringify(producers));
    await writeFile(join(dir, 'job_types.json'), JSON.stringify(jobTypes));
    jack = await startJack({ CONFIG_DIR: dir });

    const got = await call(jack.admin, 'getProducer', { producerId: 'prod_0000000a' });
    expect(got.producer).toEqual({
      producerId: 'prod_0000000a',
      name: 'written elsewhere',
      description: 'by another implementation',
      rateLimitRps: 250,
      createdAt: new Date('2024-01-02T03:04:05Z'),
      updatedAt: new Date('2024-01-02T03:04:05.500Z'),
      principals: [],
    });
    const types = await call(jack.admin, 'listJobTypes', {
      producerId: 'prod_0000000a',
      pageSize: 0,
      pageToken: '',
    });
    expect(types.jobTypes).toMatchObject([
      { name: 'resize', queue: Queue.QUEUE_IMMEDIATE, maxRetries: 5 },
    ]);
    const enqueued = await call(jack.jobs, 'enqueue', job('prod_0000000a', 'resize'));
    expect(enqueued.errorMessages).toEqual([]);
  });

  it('creates the directory when it does not exist', async () => {
    const nested = join(dir, 'not', 'yet', 'there');
    jack = await startJack({ CONFIG_DIR: nested });
    expect((await stat(nested)).isDirectory()).toBe(true);
    await call(jack.admin, 'createProducer', { name: 'p', description: '' });
    expect(existsSync(join(nested, 'producers.json'))).toBe(true);
  });

  it('answers UNAVAILABLE when the directory becomes unusable, and keeps the snapshot', async () => {
    jack = await startJack({ CONFIG_DIR: dir });
    const created = await call(jack.admin, 'createProducer', { name: 'kept', description: '' });
    // job_types.json is now a directory: the write cannot replace it.
    await mkdir(join(dir, 'job_types.json'));
    const err = await callError(
      call(jack.admin, 'createJobType', {
        producerId: created.producer?.producerId ?? '',
        name: 't',
        queue: Queue.QUEUE_HIGH,
        maxRetries: 0,
        description: '',
      }),
    );
    expect(err.code).toBe(status.UNAVAILABLE);
    // A message of Jack's own: no path, no system error text (SPEC §6).
    expect(err.details).toBe('the config store cannot read job_types.json');
    const listed = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
    expect(listed.producers.map((p) => p.name)).toEqual(['kept']);
  });

  it.each([
    {
      what: 'not JSON',
      setup: (d: string) => writeFile(join(d, 'producers.json'), '{"producers": ['),
    },
    { what: 'unreadable', setup: (d: string) => mkdir(join(d, 'producers.json')) },
  ])(
    'refuses to start when producers.json is $what: one line naming the file',
    async ({ what, setup }) => {
      await setup(dir);
      const child = await runToExit({
        env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', CONFIG_DIR: dir },
      });
      const exit = await child.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const lines = child.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^jack: startup failed: .*producers\.json/);
      // The operator's line names the file's full path (a client's answer would not).
      if (what === 'unreadable') expect(lines[0]).toContain(join(dir, 'producers.json'));
      expect(child.logs.some((l) => l.msg.startsWith('jack listening'))).toBe(false);
    },
  );
});

describe('local directory store: crash safety', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-local-crash-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * A child process that rewrites producers.json through the built local
   * store in a loop, each version bigger (version n holds n producers of
   * 256 KiB, so one write takes several write(2) calls: a torn file is easy
   * to hit), and prints the version after each completed write.
   */
  const startWriter = () => {
    requireBuild();
    const localModule = pathToFileURL(join(dirname(BUILT_MAIN), 'storage', 'local.js')).href;
    const codecModule = pathToFileURL(join(dirname(BUILT_MAIN), 'storage', 'codec.js')).href;
    const script = `
      const { createLocalObjects } = await import(${JSON.stringify(localModule)});
      const { encodeProducers } = await import(${JSON.stringify(codecModule)});
      const io = createLocalObjects(process.argv[1]);
      let { generation } = await io.read('producers.json');
      const producers = [];
      for (let n = 1; ; n++) {
        producers.push({ producerId: 'prod_' + n.toString(16).padStart(8, '0'), name: 'p' + n,
          description: 'x'.repeat(256 * 1024), rateLimitRps: 1000, createdAt: new Date(), updatedAt: new Date() });
        generation = await io.write('producers.json', encodeProducers(producers), generation);
        process.stdout.write(n + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let completed = 0;
    let stderr = '';
    const waiters: Array<{ n: number; resolve: () => void }> = [];
    child.stdout.on('data', (chunk: Buffer) => {
      completed += chunk
        .toString()
        .split('\n')
        .filter((l) => l !== '').length;
      for (const w of waiters.filter((w) => completed >= w.n)) w.resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return {
      afterWrites: (n: number) =>
        new Promise<void>((resolve, reject) => {
          if (completed >= n) return resolve();
          waiters.push({ n, resolve });
          void exited.then(() => reject(new Error(`writer exited early: ${stderr}`)));
        }),
      /** SIGKILL at a random moment of the write in progress. */
      kill: async () => {
        await sleep(Math.random() * 30);
        child.kill('SIGKILL');
        await exited;
      },
    };
  };

  it('leaves a complete producers.json whenever the writer is killed, and ignores temp files', async () => {
    let lastCount = 0;
    // A writer that wrote in place leaves a torn file in about a third of the rounds.
    for (let round = 0; round < 16; round++) {
      const writer = startWriter();
      // Let it complete a few writes, then kill it while it works on the next one.
      await writer.afterWrites(1 + Math.floor(Math.random() * 4));
      await writer.kill();
      // A writer killed inside its write leaves the lock behind; the next one
      // would take it over only once stale (5 s, tested in
      // local-store-shared.test.ts): remove it to keep this test short.
      await rm(join(dir, '.producers.json.lock'), { recursive: true, force: true });

      const text = await readFile(join(dir, 'producers.json'), 'utf8');
      const producers = decodeProducers(text);
      // Each version is whole: n producers, numbered 1..n.
      expect(producers.length).toBeGreaterThan(0);
      expect(producers.map((p) => p.name)).toEqual(producers.map((_, i) => `p${i + 1}`));
      lastCount = producers.length;
    }

    // A temp file from a killed writer (the same naming as the store's own) is
    // never data: the service loads producers.json only, and removes the
    // temp files at startup.
    await writeFile(join(dir, '.producers.json.1234.deadbeef.tmp'), '{"producers": [');
    const jack = await startJack({ CONFIG_DIR: dir });
    try {
      const listed = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      expect(listed.producers).toHaveLength(lastCount);
      expect((await readdir(dir)).sort()).toEqual(['.producers.json.version', 'producers.json']);
    } finally {
      await jack.close();
    }
  });
});
