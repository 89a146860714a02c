/**
 * Issue 15, AUTH_MODE=on end to end against a real spawned Jack: the
 * bootstrap key and a producer's API key through --token and JACK_TOKEN.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failed, ok, runCli } from '../support/cli.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

type RunningJack = SpawnedJack & { address: string };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
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
