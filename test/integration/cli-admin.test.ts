/**
 * Issue 15: the exact wire requests of the admin commands (producers
 * update/delete, job-types get/update/delete, keys) and the bulk retry loop,
 * against test/support/fake-jack.ts, a scripted server that records what the
 * CLI sends (fields, update mask, bearer token) and can fail on demand. The
 * same commands against a real Jack: cli-e2e.test.ts and cli-bulk.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUILT_CLI, runCli } from '../support/cli.js';
import { type FakeJack, startFakeJack } from '../support/fake-jack.js';

let fake: FakeJack;
let dir: string;
const jackCli = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env: { JACK_ADDR: fake.address, ...env } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-admin-'));
});
beforeEach(async () => {
  await fake?.close();
  fake = await startFakeJack();
});
afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('admin commands (wire contract of SPEC §10)', () => {
  it('producers update sends the given fields and exactly their mask', async () => {
    const result = await jackCli([
      'producers',
      'update',
      'prod_1',
      '--rate-limit-rps',
      '50',
      '--principal',
      'a@example.com',
      '--principal',
      'spiffe://x/y',
      '--json',
      '--token',
      'jk_flag',
    ]);
    expect(result.code).toBe(0);
    const [call] = fake.callsOf('updateProducer');
    expect(call?.request.updateMask).toEqual(['rate_limit_rps', 'principals']);
    expect(call?.request.producer).toMatchObject({
      producerId: 'prod_1',
      rateLimitRps: 50,
      principals: ['a@example.com', 'spiffe://x/y'],
    });
    expect(call?.metadata.get('authorization')).toEqual(['Bearer jk_flag']);
    expect(result.json()).toMatchObject({ producerId: 'prod_1', rateLimitRps: 50 });
    const nothing = await jackCli(['producers', 'update', 'prod_1']);
    expect(nothing.code).toBe(2);
    expect((await jackCli(['producers', 'update', 'prod_1', '--clear-principals'])).code).toBe(0);
    const [, clear] = fake.callsOf('updateProducer');
    expect(clear?.request.updateMask).toEqual(['principals']);
    expect(clear?.request.producer).toMatchObject({ producerId: 'prod_1', principals: [] });
  });

  it('producers delete, job-types get / update / delete', async () => {
    const env = { JACK_TOKEN: 'jk_env' };
    expect((await jackCli(['producers', 'delete', 'prod_1', '--json'], env)).json()).toEqual({
      producerId: 'prod_1',
      deleted: true,
    });
    expect(fake.callsOf('deleteProducer')[0]?.request).toEqual({ producerId: 'prod_1' });
    expect(fake.callsOf('deleteProducer')[0]?.metadata.get('authorization')).toEqual([
      'Bearer jk_env',
    ]);

    const got = await jackCli(['job-types', 'get', 'prod_1', 'send', '--json']);
    expect(got.json()).toMatchObject({ producerId: 'prod_1', name: 'send', queue: 'QUEUE_HIGH' });
    const table = await jackCli(['job-types', 'get', 'prod_1', 'send']);
    expect(table.stdout).toMatch(/\nqueue\s+high\n/);

    const updated = await jackCli([
      'job-types',
      'update',
      'prod_1',
      'send',
      '--queue',
      'low',
      '--description',
      'd',
    ]);
    expect(updated.code).toBe(0);
    const [update] = fake.callsOf('updateJobType');
    expect(update?.request.updateMask).toEqual(['queue', 'description']);
    expect(update?.request.jobType).toMatchObject({ producerId: 'prod_1', name: 'send', queue: 4 });

    const deleted = await jackCli(['job-types', 'delete', 'prod_1', 'send']);
    expect([deleted.code, deleted.stdout]).toEqual([0, 'deleted job type send of prod_1\n']);
    expect(fake.callsOf('deleteJobType')[0]?.request).toEqual({
      producerId: 'prod_1',
      name: 'send',
    });
  });

  it('keys create prints the token once; list and revoke', async () => {
    const created = await jackCli([
      'keys',
      'create',
      '--producer',
      'prod_1',
      '--description',
      'ci',
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/\ntoken\s+jk_key_00112233aabbccdd_secret\n/);
    expect(created.stderr).toContain('never shows it again');
    const admin = await jackCli(['keys', 'create', '--json']);
    expect(admin.json()).toMatchObject({
      apiKey: { keyId: 'key_00112233aabbccdd' },
      token: /^jk_/,
    });
    expect(fake.callsOf('createApiKey')[1]?.request).toEqual({
      producerId: '',
      description: '',
      role: 0,
    });

    const list = await jackCli(['keys', 'list', '--producer', 'prod_1']);
    expect(list.stdout).toMatch(
      /^KEY_ID\s+PRODUCER_ID\s+ROLE\s+CREATED_AT\s+DESCRIPTION\nkey_00112233aabbccdd\s+prod_1\s+producer\s/,
    );
    expect(list.stdout).not.toContain('jk_');
    const revoked = await jackCli(['keys', 'revoke', 'key_00112233aabbccdd', '--json']);
    expect(revoked.json()).toEqual({ keyId: 'key_00112233aabbccdd', revoked: true });
  });

  it('keys list follows next_page_token until the last page', async () => {
    fake.handle('listApiKeys', (r: { producerId: string; pageToken: string }) =>
      r.pageToken === ''
        ? {
            apiKeys: [{ keyId: 'key_aaaaaaaaaaaaaaaa', producerId: r.producerId }],
            nextPageToken: 'second',
          }
        : {
            apiKeys: [{ keyId: 'key_bbbbbbbbbbbbbbbb', producerId: r.producerId }],
            nextPageToken: '',
          },
    );
    const list = await jackCli(['keys', 'list', '--producer', 'prod_1', '--json']);
    expect(list.code).toBe(0);
    expect(list.json<{ apiKeys: { keyId: string }[] }>().apiKeys.map((k) => k.keyId)).toEqual([
      'key_aaaaaaaaaaaaaaaa',
      'key_bbbbbbbbbbbbbbbb',
    ]);
    expect(fake.callsOf('listApiKeys').map((c) => c.request)).toEqual([
      { producerId: 'prod_1', pageSize: 1000, pageToken: '' },
      { producerId: 'prod_1', pageSize: 1000, pageToken: 'second' },
    ]);
  });

  it('an RPC the server does not serve yet is one line with its code', async () => {
    fake.fail('revokeApiKey', { code: status.UNIMPLEMENTED, details: 'not here' });
    const result = await jackCli(['keys', 'revoke', 'key_1']);
    expect([result.code, result.stderr]).toEqual([1, 'jack: not here (unimplemented)\n']);
  });
});

describe('bulk progress', () => {
  // script(1) is util-linux, on every Debian; only a laptop without it skips (never CI).
  it.skipIf(!existsSync('/usr/bin/script') && process.env.CI !== 'true')(
    'shows count, rate and ETA when stderr is a terminal',
    async () => {
      const input = join(dir, 'tty.jsonl');
      const output = join(dir, 'tty.results');
      await writeFile(input, '{"producer_id":"p","job_type":"t"}\n'.repeat(50));
      // script(1) runs the command on a pseudo-terminal and copies what it wrote.
      const command = [process.execPath, BUILT_CLI, 'bulk', input, '--output', output]
        .map((a) => `'${a}'`)
        .join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
        env: { PATH: process.env.PATH ?? '', JACK_ADDR: fake.address, TERM: 'xterm' },
      });
      expect(stdout).toMatch(/bulk \[[^\]]+\] 50\/50 jobs \| \d+ jobs\/s \| ETA/);
      expect(stdout).toContain('50 enqueued');
    },
  );
});

describe('bulk retry loop', () => {
  it('retries passing failures with the same keys until every job is in, one result line each', async () => {
    // Attempt 1: the whole call UNAVAILABLE (with RetryInfo); attempt 2: job 1 in_progress,
    // job 2 rate_limited, job 3 unavailable; attempt 3: all in.
    fake.fail('enqueueBulk', { code: status.UNAVAILABLE, retryDelayMs: 50 });
    fake.handle('enqueueBulk', (req: { jobs: unknown[] }, attempt: number) => ({
      results: req.jobs.map((_, index) => {
        const reason =
          attempt === 2 ? ['', 'in_progress', 'rate_limited', 'unavailable'][index] : '';
        return reason
          ? { index, reason, error: reason }
          : { index, jobId: `pjob_${attempt}_${index}` };
      }),
    }));
    const input = join(dir, 'retry.jsonl');
    const output = join(dir, 'retry.results');
    await writeFile(
      input,
      [0, 1, 2, 3]
        .map((i) => JSON.stringify({ producer_id: 'p', job_type: 't', payload: { i } }))
        .join('\n'),
    );
    const result = await jackCli(['bulk', input, '--output', output, '--json']);
    expect(result.code).toBe(0);
    // stderr is not a terminal here: no progress bar, nothing at all.
    expect(result.stderr).toBe('');
    expect(result.json()).toMatchObject({ lines: 4, enqueued: 4, failed: 0, retried: 7 });

    const calls = fake.callsOf('enqueueBulk');
    expect(calls.map((c) => c.request.jobs.length)).toEqual([4, 4, 3]);
    const keyOf = (c: (typeof calls)[number], i: number) =>
      c.request.jobs[i].idempotencyKey as string;
    expect(keyOf(calls[0]!, 1)).toMatch(/^jack-bulk-[0-9a-f]{40}$/);
    expect([0, 1, 2, 3].map((i) => keyOf(calls[1]!, i))).toEqual(
      [0, 1, 2, 3].map((i) => keyOf(calls[0]!, i)),
    );
    expect([0, 1, 2].map((i) => keyOf(calls[2]!, i))).toEqual(
      [1, 2, 3].map((i) => keyOf(calls[0]!, i)),
    );
    const lines = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.sort((a, b) => a.index - b.index)).toEqual([
      { index: 0, job_id: 'pjob_2_0' },
      { index: 1, job_id: 'pjob_3_0' },
      { index: 2, job_id: 'pjob_3_1' },
      { index: 3, job_id: 'pjob_3_2' },
    ]);
  });

  it('gives up after --max-attempts: the job fails with its reason, exit 1', async () => {
    fake.handle('enqueueBulk', (req: { jobs: unknown[] }) => ({
      results: req.jobs.map((_, index) => ({ index, reason: 'unavailable', error: 'down' })),
    }));
    const input = join(dir, 'down.jsonl');
    const output = join(dir, 'down.results');
    await writeFile(input, '{"producer_id":"p","job_type":"t"}\n');
    const result = await jackCli(['bulk', input, '--output', output, '--max-attempts', '3']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`jack: 1 jobs failed (see ${output}) (bulk_failed)\n`);
    expect(fake.callsOf('enqueueBulk')).toHaveLength(3);
    expect(JSON.parse(await readFile(output, 'utf8'))).toEqual({
      index: 0,
      reason: 'unavailable',
      error: 'down',
    });
  });
});
