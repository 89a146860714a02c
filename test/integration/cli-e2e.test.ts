/**
 * Issue 15: the `jack` commands that were first proven against the scripted
 * server (cli-admin.test.ts), now end to end against a real spawned Jack:
 * producers update / delete, job-types get / update / delete, keys create /
 * list / revoke, enqueue with --idempotency-key, and AUTH_MODE=on with the
 * bootstrap key and a producer's API key (--token and JACK_TOKEN).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../support/cli.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

type RunningJack = SpawnedJack & { address: string };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-e2e-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ok(result: CliResult): CliResult {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result;
}

/** A failed command: exit 1, nothing on stdout, one error line. */
function failed(result: CliResult, line: string | RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  if (typeof line === 'string') expect(result.stderr).toBe(`${line}\n`);
  else expect(result.stderr).toMatch(line);
}

describe('admin commands against a real Jack', () => {
  let jack: RunningJack;
  const jackCli = (args: string[]) => runCli(args, { env: { JACK_ADDR: jack.address } });
  beforeAll(async () => {
    jack = await startBuiltJack({ CONFIG_DIR: join(dir, 'admin') });
  });
  afterAll(async () => {
    await jack?.kill();
  });

  it('producers update changes exactly the given fields; delete removes it', async () => {
    const id = ok(
      await jackCli([
        'producers',
        'create',
        '--name',
        'billing',
        '--description',
        'Bills',
        '--json',
      ]),
    ).json<{ producerId: string }>().producerId;

    const renamed = ok(
      await jackCli([
        'producers',
        'update',
        id,
        '--rate-limit-rps',
        '50',
        '--principal',
        'a@example.com',
        '--principal',
        'spiffe://x/y',
        '--json',
      ]),
    ).json();
    // Name and description were not given: the mask left them alone.
    expect(renamed).toMatchObject({
      producerId: id,
      name: 'billing',
      description: 'Bills',
      rateLimitRps: 50,
      principals: ['a@example.com', 'spiffe://x/y'],
    });
    expect(renamed.updatedAt).not.toEqual(renamed.createdAt);

    // An empty value is a value: --description '' clears it, the rest stays.
    const cleared = ok(
      await jackCli([
        'producers',
        'update',
        id,
        '--name',
        'invoices',
        '--description',
        '',
        '--json',
      ]),
    ).json();
    expect(cleared).toMatchObject({ name: 'invoices', rateLimitRps: 50 });
    expect(cleared.description).toBeUndefined(); // protobuf JSON leaves out an empty string
    const table = ok(await jackCli(['producers', 'get', id])).stdout;
    expect(table).toMatch(/\nname\s+invoices\n/);
    expect(table).toMatch(/\nrate_limit_rps\s+50\n/);
    expect(table).toMatch(/\nprincipals\s+a@example.com, spiffe:\/\/x\/y\n/);
    const none = ok(
      await jackCli(['producers', 'update', id, '--clear-principals', '--json']),
    ).json();
    expect(none).toMatchObject({ name: 'invoices', rateLimitRps: 50 });
    expect(none.principals).toBeUndefined(); // an empty list
    const both = await jackCli([
      'producers',
      'update',
      id,
      '--clear-principals',
      '--principal',
      'a',
    ]);
    expect([both.code, both.stderr]).toEqual([
      2,
      'jack: give --principal or --clear-principals, not both (usage)\n',
    ]);

    expect(ok(await jackCli(['producers', 'delete', id, '--json'])).json()).toEqual({
      producerId: id,
      deleted: true,
    });
    failed(await jackCli(['producers', 'get', id]), `jack: producer not found: ${id} (not_found)`);
    failed(
      await jackCli(['producers', 'delete', id]),
      `jack: producer not found: ${id} (not_found)`,
    );
    failed(
      await jackCli(['producers', 'update', id, '--name', 'x']),
      `jack: producer not found: ${id} (not_found)`,
    );
  });

  it('job-types get / update / delete, as JSON and as a table', async () => {
    const id = ok(await jackCli(['producers', 'create', '--name', 'mail', '--json'])).json<{
      producerId: string;
    }>().producerId;
    ok(
      await jackCli([
        'job-types',
        'create',
        '--producer',
        id,
        '--name',
        'send',
        '--queue',
        'high',
        '--description',
        'Sends mail',
      ]),
    );
    expect(ok(await jackCli(['job-types', 'get', id, 'send', '--json'])).json()).toMatchObject({
      producerId: id,
      name: 'send',
      queue: 'QUEUE_HIGH',
      maxRetries: 3,
      description: 'Sends mail',
    });

    const updated = ok(
      await jackCli(['job-types', 'update', id, 'send', '--queue', 'low', '--max-retries', '7']),
    ).stdout;
    // The human record, once: the description was not in the mask and stays.
    expect(updated).toMatch(
      new RegExp(
        `^FIELD\\s+VALUE\\nproducer_id\\s+${id}\\nname\\s+send\\nqueue\\s+low\\nmax_retries\\s+7\\ndescription\\s+Sends mail\\n`,
      ),
    );
    expect(ok(await jackCli(['job-types', 'get', id, 'send', '--json'])).json()).toMatchObject({
      queue: 'QUEUE_LOW',
      maxRetries: 7,
      description: 'Sends mail',
    });

    const deleted = ok(await jackCli(['job-types', 'delete', id, 'send']));
    expect(deleted.stdout).toBe(`deleted job type send of ${id}\n`);
    const missing = `jack: job type not found: send (producer: ${id}) (not_found)`;
    failed(await jackCli(['job-types', 'get', id, 'send']), missing);
    failed(await jackCli(['job-types', 'delete', id, 'send']), missing);
    failed(await jackCli(['job-types', 'update', id, 'send', '--description', 'x']), missing);
    expect(ok(await jackCli(['job-types', 'list', '--producer', id, '--json'])).json()).toEqual({
      jobTypes: [],
    });
  });

  it('keys create / list / revoke; a producer delete takes its keys along', async () => {
    const id = ok(await jackCli(['producers', 'create', '--name', 'keyed', '--json'])).json<{
      producerId: string;
    }>().producerId;
    const created = ok(
      await jackCli(['keys', 'create', '--producer', id, '--description', 'ci', '--json']),
    ).json<{ apiKey: { keyId: string; producerId: string }; token: string }>();
    const keyId = created.apiKey.keyId;
    expect(created.apiKey).toMatchObject({ producerId: id, description: 'ci' });
    expect(keyId).toMatch(/^key_/);
    // The token names its key: jk_<the key id without key_>_<secret>.
    expect(created.token).toMatch(new RegExp(`^jk_${keyId.slice('key_'.length)}_\\S{40,}$`));

    const human = await jackCli(['keys', 'create', '--producer', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^FIELD\s+VALUE\nkey_id\s+key_\S+\n/);
    expect(human.stdout).toMatch(/\ntoken\s+jk_\S+\n/);
    expect(human.stderr).toBe('Store the token now: Jack never shows it again.\n');
    const admin = ok(await jackCli(['keys', 'create', '--json'])).json<{
      apiKey: { keyId: string; producerId?: string };
    }>();
    expect(admin.apiKey.producerId).toBeUndefined(); // an admin key

    const list = ok(await jackCli(['keys', 'list', '--producer', id])).stdout;
    expect(list).toMatch(/^KEY_ID\s+PRODUCER_ID\s+CREATED_AT\s+DESCRIPTION\n/);
    expect(list.trim().split('\n')).toHaveLength(3);
    expect(list).toMatch(new RegExp(`\\n${keyId}\\s+${id}\\s+\\S+\\s+ci\\n`));
    expect(list).not.toContain('jk_');
    const all = ok(await jackCli(['keys', 'list', '--json'])).json<{
      apiKeys: { keyId: string }[];
    }>();
    expect(all.apiKeys.map((k) => k.keyId)).toEqual(
      expect.arrayContaining([keyId, admin.apiKey.keyId]),
    );
    expect(JSON.stringify(all)).not.toContain('jk_');

    expect(ok(await jackCli(['keys', 'revoke', keyId, '--json'])).json()).toEqual({
      keyId,
      revoked: true,
    });
    failed(await jackCli(['keys', 'revoke', keyId]), /^jack: .*not found.* \(not_found\)\n$/);
    failed(
      await jackCli(['keys', 'create', '--producer', 'prod_00000000']),
      /^jack: .*prod_00000000.* \(not_found\)\n$/,
    );

    ok(await jackCli(['producers', 'delete', id]));
    expect(ok(await jackCli(['keys', 'list', '--producer', id, '--json'])).json()).toEqual({
      apiKeys: [],
    });
  });

  it('enqueue --idempotency-key twice: the same job id, the second marked duplicate', async () => {
    const args = ['enqueue', 'prod_idem', 'send', '{"n":1}', '--idempotency-key', 'order-17'];
    const first = ok(await jackCli([...args, '--json'])).json<{
      jobId: string;
      duplicate?: boolean;
    }>();
    expect(first.jobId).toMatch(/^pjob_/);
    expect(first.duplicate).toBeUndefined(); // false: left out of protobuf JSON
    const second = ok(await jackCli([...args, '--json'])).json();
    expect(second).toMatchObject({ jobId: first.jobId, duplicate: true });
    const human = ok(await jackCli(args)).stdout;
    expect(human).toBe(
      `FIELD      VALUE\njob_id     ${first.jobId}\nduplicate  true (an earlier call enqueued it)\n`,
    );

    // The same key for another request is a conflict, not a duplicate.
    failed(
      await jackCli(['enqueue', 'prod_idem', 'send', '{"n":2}', '--idempotency-key', 'order-17']),
      `jack: idempotency key order-17 was used for job ${first.jobId} with a different request (already_exists)`,
    );
  });
});

describe('AUTH_MODE=on: --token and JACK_TOKEN', () => {
  const bootstrap = 'bootstrap-admin-key-for-the-cli-test-0123456789';
  let jack: RunningJack;
  const jackCli = (args: string[], token?: string) =>
    runCli(args, {
      env: { JACK_ADDR: jack.address, ...(token === undefined ? {} : { JACK_TOKEN: token }) },
    });
  beforeAll(async () => {
    jack = await startBuiltJack({
      CONFIG_DIR: join(dir, 'auth'),
      AUTH_MODE: 'on',
      AUTH_BOOTSTRAP_ADMIN_KEY: bootstrap,
    });
  });
  afterAll(async () => {
    await jack?.kill();
  });

  it('the bootstrap key creates a producer key; that key enqueues for its producer only', async () => {
    // --token on the command line, then the same through JACK_TOKEN.
    const mine = ok(
      await jackCli(['producers', 'create', '--name', 'mine', '--json', '--token', bootstrap]),
    ).json<{ producerId: string }>().producerId;
    const theirs = ok(
      await jackCli(['producers', 'create', '--name', 'theirs', '--json'], bootstrap),
    ).json<{ producerId: string }>().producerId;
    const key = ok(
      await jackCli(['keys', 'create', '--producer', mine, '--json'], bootstrap),
    ).json<{ apiKey: { keyId: string }; token: string }>();

    const enqueued = ok(
      await jackCli(['enqueue', mine, 'send', '{}', '--json', '--token', key.token]),
    ).json<{ jobId: string }>();
    expect(enqueued.jobId).toMatch(/^pjob_/);
    ok(await jackCli(['enqueue', mine, 'send', '{}'], key.token));

    const denied = await jackCli(['enqueue', theirs, 'send', '{}'], key.token);
    failed(
      denied,
      `jack: API key ${key.apiKey.keyId} may not act for producer ${theirs} (permission_denied)`,
    );
    expect(denied.stderr).not.toContain(key.token);
    failed(
      await jackCli(['producers', 'list'], key.token),
      /^jack: API key key_\S+ may not call jack\.AdminService\/ListProducers: admins only \(permission_denied\)\n$/,
    );

    // bulk with the producer's key: the other producer's job fails alone.
    const input = join(dir, 'auth.jsonl');
    const output = join(dir, 'auth.results');
    await writeFile(
      input,
      [mine, theirs, mine].map((p) => JSON.stringify({ producer_id: p, job_type: 't' })).join('\n'),
    );
    const bulk = await jackCli(['bulk', input, '--output', output, '--json'], key.token);
    expect(bulk.code).toBe(1);
    expect(bulk.json()).toMatchObject({ lines: 3, enqueued: 2, failed: 1 });

    // Without a token every call would be refused: bulk stops with that one line and
    // writes no failure line per job; a --resume with the key then sends them all.
    const many = join(dir, 'many.jsonl');
    const manyOut = join(dir, 'many.results');
    await writeFile(
      many,
      Array.from({ length: 2000 }, () => JSON.stringify({ producer_id: mine, job_type: 't' })).join(
        '\n',
      ),
    );
    const refused = await jackCli(['bulk', many, '--output', manyOut, '--batch-size', '100']);
    failed(refused, /^jack: missing credential: [^\n]+ \(unauthenticated\)\n$/);
    expect(await readFile(manyOut, 'utf8')).toBe('');
    const resumed = await jackCli(
      ['bulk', many, '--output', manyOut, '--resume', '--json'],
      key.token,
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json()).toMatchObject({ lines: 2000, enqueued: 2000, failed: 0 });

    // Revoked: the same token is refused at once.
    ok(await jackCli(['keys', 'revoke', key.apiKey.keyId], bootstrap));
    failed(
      await jackCli(['enqueue', mine, 'send', '{}'], key.token),
      `jack: unknown or revoked API key ${key.apiKey.keyId} (unauthenticated)`,
    );
  });

  it('no token, or a wrong one: UNAUTHENTICATED in one line, exit 1', async () => {
    const missing =
      'jack: missing credential: this call needs an API key ("authorization: Bearer <token>") (unauthenticated)';
    failed(await jackCli(['producers', 'list']), missing);
    failed(await jackCli(['enqueue', 'prod_x', 'send']), missing);
    const wrong = await jackCli(['producers', 'list'], 'not-the-bootstrap-key');
    failed(wrong, /^jack: [^\n]+ \(unauthenticated\)\n$/);
    expect(wrong.stderr).not.toContain('not-the-bootstrap-key');
    // A token read from a file keeps its newline: trimmed, it works.
    ok(await jackCli(['producers', 'list'], `${bootstrap}\r\n`));
    // grpc-js would refuse a header with a newline inside, quoting it (the secret): the
    // CLI refuses it first, without showing it.
    for (const bad of [`${bootstrap}\nx`, `${bootstrap} x`]) {
      const refused = await jackCli(['producers', 'list'], bad);
      expect([refused.code, refused.stdout]).toEqual([2, '']);
      expect(refused.stderr).toMatch(
        /^jack: --token \/ JACK_TOKEN: the token has characters a bearer token cannot have .*value not shown\) \(usage\)\n$/,
      );
      expect(refused.stderr).not.toContain(bootstrap);
    }
    // Health needs no credential.
    expect(ok(await jackCli(['health', '--json'])).json()).toMatchObject({ serving: true });
  });
});
