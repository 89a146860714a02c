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
import type { Producer } from '../../src/gen/jack/storage.js';
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

/**
 * QA (hostile black-box) of SPEC §7 with §8/§9 over a real socket:
 * CancelJob for another producer, UNAUTHENTICATED messages that never echo
 * what was sent, a producer id far longer than any Jack issues, and one
 * EnqueueBulk whose jobs fail for every per-job reason at once
 * (permission_denied, validation_error, idempotency_conflict,
 * rate_limited) beside a duplicate.
 */
describe('API keys against a hostile caller', () => {
  const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const ADMIN = bearer(BOOTSTRAP);

  describe('AUTH_MODE=on edges', () => {
    let jack: RunningJack;
    let prodA: string;
    let prodB: string;
    let keyA: { token: string; keyId: string };

    beforeAll(async () => {
      jack = await startJack({
        AUTH_MODE: 'on',
        AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
        RATE_LIMIT_MODE: 'enforce',
        LOG_LEVEL: 'info',
      });
      const create = async (name: string) =>
        (
          (await call(jack.admin, 'createProducer', { name, description: '' }, ADMIN))
            .producer as Producer
        ).producerId;
      prodA = await create('a');
      prodB = await create('b');
      const issued = await call(
        jack.admin,
        'createApiKey',
        { producerId: prodA, description: 'qa', role: 0 },
        ADMIN,
      );
      keyA = { token: issued.token, keyId: issued.apiKey?.keyId as string };
    });
    afterAll(async () => {
      await jack?.close();
    });

    it('CancelJob: another producer is PERMISSION_DENIED before anything else; its own reaches the checks', async () => {
      const { jobId: jobOfB } = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: prodB, jobType: 't' }),
        ADMIN,
      );
      expect(
        await callError(call(jack.jobs, 'cancelJob', { producerId: prodB, jobId: jobOfB })),
      ).toMatchObject({ code: status.UNAUTHENTICATED });
      expect(
        await callError(
          call(jack.jobs, 'cancelJob', { producerId: prodB, jobId: jobOfB }, bearer(keyA.token)),
        ),
      ).toEqual({
        code: status.PERMISSION_DENIED,
        details: `API key ${keyA.keyId} may not act for producer ${prodB}`,
      });
      // Its own producer with B's job: the id does not belong to it.
      expect(
        (
          await callError(
            call(jack.jobs, 'cancelJob', { producerId: prodA, jobId: jobOfB }, bearer(keyA.token)),
          )
        ).code,
      ).toBe(status.INVALID_ARGUMENT);
      const { jobId: jobOfA } = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: prodA, jobType: 't' }),
        bearer(keyA.token),
      );
      expect(
        (
          await callError(
            call(jack.jobs, 'cancelJob', { producerId: prodA, jobId: jobOfA }, bearer(keyA.token)),
          )
        ).code,
      ).toBe(status.FAILED_PRECONDITION);
    });

    it('serves health (Check, Watch) and reflection (v1, v1alpha) without a credential', async () => {
      const health = createHealthClient(jack.address);
      const v1 = createReflectionClient(jack.address, 'v1');
      const v1alpha = createReflectionClient(jack.address, 'v1alpha');
      try {
        for (const service of ['', 'jack.BackgroundJobs', 'jack.AdminService']) {
          expect(await health.check(service)).toBe('SERVING');
        }
        const watch = health.watch('jack.AdminService');
        await watch.until('SERVING');
        watch.cancel();
        for (const reflection of [v1, v1alpha]) {
          expect(await reflection.listServices()).toEqual(
            expect.arrayContaining([
              'jack.BackgroundJobs',
              'jack.AdminService',
              'grpc.health.v1.Health',
            ]),
          );
          expect(
            (await reflection.fileContainingSymbol('jack.AdminService')).length,
          ).toBeGreaterThan(0);
        }
      } finally {
        health.close();
        v1.close();
        v1alpha.close();
      }
    });

    it('UNAUTHENTICATED says what was wrong and never echoes what was sent', async () => {
      const secretish = randomBytes(20).toString('hex');
      const cases: Array<[string, string]> = [
        // (A value with trailing blanks never leaves grpc-js: not tried here.)
        ['Bearer', 'malformed authorization metadata: expected "Bearer <token>"'],
        [`Bearer ${secretish} more`, 'malformed authorization metadata: expected "Bearer <token>"'],
        [`Basic ${secretish}`, 'malformed authorization metadata: expected "Bearer <token>"'],
        [`Bearer ${BOOTSTRAP}x`, 'malformed token: expected an API key'],
        [`Bearer jk_${secretish}`, 'malformed API key: expected jk_<key id>_<secret>'],
        [
          `Bearer a${secretish}.b${secretish}.c${secretish}`,
          'bad token: OIDC ID tokens are not accepted here (AUTH_OIDC_ISSUER is not set)',
        ],
      ];
      for (const [authorization, details] of cases) {
        const err = await callError(
          call(jack.jobs, 'enqueue', enqueueRequest({ producerId: prodA, jobType: 't' }), {
            authorization,
          }),
        );
        expect(err).toEqual({ code: status.UNAUTHENTICATED, details });
        expect(err.details).not.toContain(secretish);
      }
      // A revoked key and a key of a deleted producer: unknown from then on.
      const doomed = await call(
        jack.admin,
        'createProducer',
        { name: 'doomed', description: '' },
        ADMIN,
      );
      const doomedId = doomed.producer?.producerId as string;
      const k1 = await call(
        jack.admin,
        'createApiKey',
        { producerId: doomedId, description: '', role: 0 },
        ADMIN,
      );
      const k2 = await call(
        jack.admin,
        'createApiKey',
        { producerId: doomedId, description: '', role: 0 },
        ADMIN,
      );
      await call(jack.admin, 'revokeApiKey', { keyId: k1.apiKey?.keyId as string }, ADMIN);
      await call(jack.admin, 'deleteProducer', { producerId: doomedId }, ADMIN);
      for (const k of [k1, k2]) {
        expect(
          await callError(
            call(
              jack.jobs,
              'enqueue',
              enqueueRequest({ producerId: doomedId, jobType: 't' }),
              bearer(k.token),
            ),
          ),
        ).toEqual({
          code: status.UNAUTHENTICATED,
          details: `unknown or revoked API key ${k.apiKey?.keyId}`,
        });
      }
      const text = JSON.stringify(jack.logs);
      expect(text).not.toContain(secretish);
      expect(text).not.toContain(keyA.token);
      expect(text).not.toContain(k1.token);
      expect(text).not.toContain(BOOTSTRAP);
    });

    it('audits refused admin writes also when the credential is missing or bad', async () => {
      await callError(call(jack.admin, 'createProducer', { name: 'anon', description: '' }));
      await callError(call(jack.admin, 'deleteProducer', { producerId: prodB }, bearer('jk_bad')));
      await callError(
        call(jack.admin, 'deleteProducer', { producerId: 'p'.repeat(100_000) }, bearer(keyA.token)),
      );
      const audit = jack.logs.filter((l) => l.audit === true);
      expect(audit).toContainEqual(
        expect.objectContaining({
          principal: 'unauthenticated',
          method: 'AdminService/CreateProducer',
          outcome: 'UNAUTHENTICATED',
        }),
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          principal: 'unauthenticated',
          method: 'AdminService/DeleteProducer',
          target: { producerId: prodB },
          outcome: 'UNAUTHENTICATED',
        }),
      );
      const long = audit.find((l) => l.outcome === 'PERMISSION_DENIED');
      expect(long?.target).toEqual({ producerId: `${'p'.repeat(256)}…` });
    });

    it('a producer id far longer than any Jack issues: PERMISSION_DENIED with a bounded message', async () => {
      const err = await callError(
        call(
          jack.jobs,
          'enqueue',
          enqueueRequest({ producerId: 'p'.repeat(200_000), jobType: 't' }),
          bearer(keyA.token),
        ),
      );
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.details).toMatch(
        new RegExp(`^API key ${keyA.keyId} may not act for producer p+…$`),
      );
      expect(err.details.length).toBeLessThanOrEqual(1024);
    });

    it('EnqueueBulk: each job fails alone for its own reason; a duplicate is OK with duplicate=true', async () => {
      await call(
        jack.admin,
        'updateProducer',
        {
          producer: {
            producerId: prodA,
            name: '',
            description: '',
            rateLimitRps: 3,
            principals: [],
            createdAt: undefined,
            updatedAt: undefined,
          },
          updateMask: ['rate_limit_rps'],
        },
        ADMIN,
      );
      const job = (fields: Parameters<typeof enqueueRequest>[0]) =>
        enqueueRequest({
          producerId: prodA,
          jobType: 'bulk',
          payload: Buffer.from('1'),
          ...fields,
        });
      const first = await call(
        jack.jobs,
        'enqueueBulk',
        { jobs: [job({ idempotencyKey: 'k1' }), job({ idempotencyKey: 'k2' })] },
        bearer(keyA.token),
      );
      expect(first.results.map((r) => r.reason)).toEqual(['', '']);
      const [id1, id2] = first.results.map((r) => r.jobId);
      const { results } = await call(
        jack.jobs,
        'enqueueBulk',
        {
          jobs: [
            job({ idempotencyKey: 'k1', correlationId: 'c0' }),
            job({ producerId: prodB, correlationId: 'c1' }),
            job({ idempotencyKey: 'k2', payload: Buffer.from('2'), correlationId: 'c2' }),
            job({ jobType: '', correlationId: 'c3' }),
            job({ idempotencyKey: 'x'.repeat(257), correlationId: 'c4' }),
            ...Array.from({ length: 6 }, (_, i) => job({ correlationId: `r${i}` })),
          ],
        },
        bearer(keyA.token),
      );
      expect(results.map((r) => r.index)).toEqual(results.map((_, i) => i));
      expect(results.slice(0, 5)).toEqual([
        {
          index: 0,
          jobId: id1,
          error: '',
          errorMessages: [],
          correlationId: 'c0',
          reason: '',
          duplicate: true,
        },
        {
          index: 1,
          jobId: '',
          error: `API key ${keyA.keyId} may not act for producer ${prodB}`,
          errorMessages: [],
          correlationId: 'c1',
          reason: 'permission_denied',
          duplicate: false,
        },
        {
          index: 2,
          jobId: '',
          error: `idempotency key k2 was used for job ${id2} with a different request`,
          errorMessages: [],
          correlationId: 'c2',
          reason: 'idempotency_conflict',
          duplicate: false,
        },
        {
          index: 3,
          jobId: '',
          error: 'job_type is required',
          errorMessages: [],
          correlationId: 'c3',
          reason: 'validation_error',
          duplicate: false,
        },
        {
          index: 4,
          jobId: '',
          error: 'idempotency_key is 257 bytes, longer than the limit of 256 bytes',
          errorMessages: [],
          correlationId: 'c4',
          reason: 'validation_error',
          duplicate: false,
        },
      ]);
      // Six plain jobs against a bucket of 3/s that the first call drew 2 from:
      // the first ones pass, the rest fail alone with rate_limited.
      const rest = results.slice(5);
      const admitted = rest.filter((r) => r.reason === '').length;
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted).toBeLessThanOrEqual(3);
      expect(rest.map((r) => r.reason)).toEqual([
        ...Array(admitted).fill(''),
        ...Array(6 - admitted).fill('rate_limited'),
      ]);
      for (const r of rest.slice(admitted)) {
        expect(r.error).toBe(`rate limit exceeded for producer ${prodA} (3 jobs/s)`);
        expect(r.jobId).toBe('');
      }
    });
  });
});
