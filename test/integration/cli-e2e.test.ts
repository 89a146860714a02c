/**
 * Issue 15: the `jack` commands that were first proven against the scripted
 * server (cli-admin.test.ts), now end to end against a real spawned Jack:
 * producers update / delete, job-types get / update / delete, keys create /
 * list / revoke, enqueue with --idempotency-key (AUTH_MODE=on:
 * cli-auth.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failed, ok, runCli } from '../support/cli.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

type RunningJack = SpawnedJack & { address: string };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-e2e-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

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
    expect(list).toMatch(/^KEY_ID\s+PRODUCER_ID\s+ROLE\s+CREATED_AT\s+DESCRIPTION\n/);
    expect(list.trim().split('\n')).toHaveLength(3);
    expect(list).toMatch(new RegExp(`\\n${keyId}\\s+${id}\\s+producer\\s+\\S+\\s+ci\\n`));
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
