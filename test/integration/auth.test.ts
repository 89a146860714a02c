/**
 * SPEC §7 over a real socket: API keys, the bootstrap key, producer vs admin
 * authorization, UNAUTHENTICATED vs PERMISSION_DENIED, per-job
 * permission_denied in EnqueueBulk, revocation on this replica and another,
 * open health/reflection, the audit trail, and no token in any log line.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/identity/api-keys.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import type { Store } from '../../src/storage/store.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createReflectionClient } from '../support/reflection-client.js';

const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Issues a key straight into the store, in the shared token format. */
async function issueKey(
  store: Store,
  producerId: string,
): Promise<{ token: string; keyId: string }> {
  const hex = randomBytes(8).toString('hex');
  const token = `jk_${hex}_${randomBytes(32).toString('base64url')}`;
  const keyId = `key_${hex}`;
  await store.createApiKey({
    key: { keyId, producerId, description: 'test', createdAt: new Date(), role: 0 },
    tokenSha256: sha256(token),
  });
  return { token, keyId };
}

describe('AUTH_MODE=on with API keys', () => {
  const objects = createMemoryObjects();
  let jack: RunningJack;
  let replica: RunningJack;
  let prodA: string;
  let prodB: string;
  let keyA: { token: string; keyId: string };
  let adminKey: { token: string; keyId: string };
  const tokens: string[] = [BOOTSTRAP];

  beforeAll(async () => {
    const env = {
      AUTH_MODE: 'on',
      AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      CONFIG_REFRESH_INTERVAL: '200ms',
    };
    jack = await startJack(env, { memoryObjects: objects });
    replica = await startJack(env, { memoryObjects: objects });
    const admin = bearer(BOOTSTRAP);
    prodA = (await call(jack.admin, 'createProducer', { name: 'a', description: '' }, admin))
      .producer?.producerId as string;
    prodB = (await call(jack.admin, 'createProducer', { name: 'b', description: '' }, admin))
      .producer?.producerId as string;
    keyA = await issueKey(jack.app.store, prodA);
    adminKey = await issueKey(jack.app.store, '');
    tokens.push(keyA.token, adminKey.token);
  });
  afterAll(async () => {
    await replica?.close();
    await jack?.close();
  });

  it('refuses a call without a credential as UNAUTHENTICATED, before looking at the request', async () => {
    // An empty request would be INVALID_ARGUMENT: authentication comes first.
    expect(await callError(call(jack.jobs, 'enqueue', enqueueRequest()))).toEqual({
      code: status.UNAUTHENTICATED,
      details: 'missing credential: this call needs an API key ("authorization: Bearer <token>")',
    });
    const listed = await callError(
      call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' }),
    );
    expect(listed.code).toBe(status.UNAUTHENTICATED);
  });

  it('says which credential was wrong, never echoing it', async () => {
    const wrongSecret = `${keyA.token.slice(0, -4)}AAAA`;
    const cases: Array<[Record<string, string>, string]> = [
      [
        { authorization: keyA.token },
        'malformed authorization metadata: expected "Bearer <token>"',
      ],
      [bearer('jk_zz_short'), 'malformed API key: expected jk_<key id>_<secret>'],
      [bearer(wrongSecret), `unknown or revoked API key ${keyA.keyId}`],
      [bearer('not-a-key-at-all'), 'malformed token: expected an API key'],
    ];
    for (const [metadata, details] of cases) {
      const err = await callError(
        call(jack.jobs, 'enqueue', enqueueRequest({ producerId: prodA, jobType: 't' }), metadata),
      );
      expect(err).toEqual({ code: status.UNAUTHENTICATED, details });
    }
  });

  it('lets a producer key enqueue for its producer only', async () => {
    const ok = await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ producerId: prodA, jobType: 'send' }),
      bearer(keyA.token),
    );
    expect(ok.jobId).toMatch(/^pjob_/);
    // Another producer: denied before validation (the job type is missing too).
    expect(
      await callError(
        call(jack.jobs, 'enqueue', enqueueRequest({ producerId: prodB }), bearer(keyA.token)),
      ),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      details: `API key ${keyA.keyId} may not act for producer ${prodB}`,
    });
    const admin = await callError(
      call(jack.admin, 'createProducer', { name: 'x', description: '' }, bearer(keyA.token)),
    );
    expect(admin).toEqual({
      code: status.PERMISSION_DENIED,
      details: `API key ${keyA.keyId} may not call jack.AdminService/CreateProducer: admins only`,
    });
  });

  it('fails only the foreign jobs of a bulk call, with reason permission_denied', async () => {
    const response = await call(
      jack.jobs,
      'enqueueBulk',
      {
        jobs: [
          enqueueRequest({ producerId: prodA, jobType: 'one' }),
          enqueueRequest({ producerId: prodB, jobType: 'two' }),
          enqueueRequest({ producerId: prodA, jobType: 'three' }),
        ],
      },
      bearer(keyA.token),
    );
    expect(response.results.map((r) => [r.reason, r.jobId !== ''])).toEqual([
      ['', true],
      ['permission_denied', false],
      ['', true],
    ]);
    expect(response.results[1]?.error).toBe(
      `API key ${keyA.keyId} may not act for producer ${prodB}`,
    );
  });

  it('lets admin keys and the bootstrap key call everything', async () => {
    for (const token of [adminKey.token, BOOTSTRAP]) {
      const listed = await call(
        jack.admin,
        'listProducers',
        { pageSize: 0, pageToken: '' },
        bearer(token),
      );
      expect(listed.producers.map((p) => p.producerId)).toEqual(
        expect.arrayContaining([prodA, prodB]),
      );
      const job = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: prodB, jobType: 'x' }),
        bearer(token),
      );
      expect(job.jobId).not.toBe('');
    }
  });

  it('serves health and reflection without a credential', async () => {
    const health = createHealthClient(jack.address);
    const reflection = createReflectionClient(jack.address, 'v1');
    try {
      expect(await health.check('')).toBe('SERVING');
      expect(await reflection.listServices()).toContain('jack.BackgroundJobs');
    } finally {
      health.close();
      reflection.close();
    }
  });

  it('refuses a revoked key at once here, and on the other replica within the refresh interval', async () => {
    const key = await issueKey(jack.app.store, prodA);
    tokens.push(key.token);
    const enqueue = (app: RunningJack) =>
      call(
        app.jobs,
        'enqueue',
        enqueueRequest({ producerId: prodA, jobType: 'r' }),
        bearer(key.token),
      );
    await replica.app.store.refresh();
    await enqueue(jack);
    await enqueue(replica);
    await jack.app.store.revokeApiKey(key.keyId);
    expect(await callError(enqueue(jack))).toEqual({
      code: status.UNAUTHENTICATED,
      details: `unknown or revoked API key ${key.keyId}`,
    });
    const deadline = Date.now() + 5_000;
    let refused = false;
    while (!refused && Date.now() < deadline) {
      refused = await enqueue(replica).then(
        () => false,
        () => true,
      );
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toBe(true);
  });

  it('writes one audit line per admin write, denied ones included', async () => {
    await callError(
      call(jack.admin, 'createProducer', { name: 'denied', description: '' }, bearer(keyA.token)),
    );
    const created = await call(
      jack.admin,
      'createProducer',
      { name: 'audited', description: '' },
      bearer(adminKey.token),
    );
    const audit = jack.logs.filter((l) => l.audit === true);
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: `API key ${adminKey.keyId}`,
        method: 'AdminService/CreateProducer',
        target: { producerId: created.producer?.producerId },
        outcome: 'OK',
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: `API key ${keyA.keyId}`,
        method: 'AdminService/CreateProducer',
        outcome: 'PERMISSION_DENIED',
      }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        principal: 'the bootstrap admin key',
        target: { producerId: prodA },
      }),
    );
    // Reads are not audited.
    expect(audit.some((l) => String(l.method).includes('List'))).toBe(false);
  });

  it('never logs a token, a key secret or the bootstrap key', () => {
    const text = JSON.stringify([...jack.logs, ...replica.logs]);
    expect(jack.logs.length).toBeGreaterThan(10);
    for (const token of tokens) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.slice(-43)); // the secret part alone
    }
  });
});

const mainJs = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Runs the built service until it exits (it must: the configuration is refused). */
function runBuilt(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run 'make build'`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainJs],
      {
        env: { PATH: process.env.PATH ?? '', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...env },
        timeout: 20_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stderr }),
    );
  });
}

describe('AUTH_MODE at startup', () => {
  it('the built service exits 1 with one stderr line, never showing the secret', async () => {
    const noAdmin = await runBuilt({ AUTH_MODE: 'on' });
    expect(noAdmin.code).toBe(1);
    expect(noAdmin.stderr).toBe(
      'jack: startup failed: AUTH_MODE=on but no admin can authenticate: set AUTH_BOOTSTRAP_ADMIN_KEY or AUTH_ADMIN_PRINCIPALS, or create an admin API key first\n',
    );
    const short = await runBuilt({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: 'tooshort-secret' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('AUTH_BOOTSTRAP_ADMIN_KEY is too short');
    expect(short.stderr).not.toContain('tooshort-secret');
  });

  it('refuses AUTH_MODE=on when no admin can authenticate', async () => {
    await expect(startJack({ AUTH_MODE: 'on' })).rejects.toThrow(
      'AUTH_MODE=on but no admin can authenticate: set AUTH_BOOTSTRAP_ADMIN_KEY or AUTH_ADMIN_PRINCIPALS, or create an admin API key first',
    );
  });

  it('starts with only an admin key in the store', async () => {
    const objects = createMemoryObjects();
    const seed = await startJack({}, { memoryObjects: objects });
    const key = await issueKey(seed.app.store, '');
    await seed.close();
    const jack = await startJack({ AUTH_MODE: 'on' }, { memoryObjects: objects });
    try {
      const listed = await call(
        jack.admin,
        'listProducers',
        { pageSize: 0, pageToken: '' },
        bearer(key.token),
      );
      expect(listed.producers).toEqual([]);
    } finally {
      await jack.close();
    }
  });

  it('warns that AUTH_MODE=off is open when not bound to loopback, and audits anonymous writes', async () => {
    const open = await startJack({ GRPC_HOST: '0.0.0.0' });
    const local = await startJack({});
    try {
      const warning = 'AUTH_MODE=off: anyone who can reach this port may enqueue and administer';
      expect(open.logs.some((l) => l.level === 'warn' && l.msg.startsWith(warning))).toBe(true);
      expect(local.logs.some((l) => l.msg.startsWith(warning))).toBe(false);
      await call(local.admin, 'createProducer', { name: 'anon', description: '' });
      expect(local.logs).toContainEqual(
        expect.objectContaining({
          audit: true,
          principal: 'anonymous (AUTH_MODE=off)',
          outcome: 'OK',
        }),
      );
    } finally {
      await open.close();
      await local.close();
    }
  });
});
