/**
 * QA (hostile black-box) of SPEC §7 with §8/§9 over a real socket:
 * CancelJob for another producer, UNAUTHENTICATED messages that never echo
 * what was sent, a producer id far longer than any Jack issues, and one
 * EnqueueBulk whose jobs fail for every per-job reason at once
 * (permission_denied, validation_error, idempotency_conflict,
 * rate_limited) beside a duplicate.
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '../../src/gen/jack/storage.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createReflectionClient } from '../support/reflection-client.js';

const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ADMIN = bearer(BOOTSTRAP);

describe('QA §7: AUTH_MODE=on edges', () => {
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
        expect((await reflection.fileContainingSymbol('jack.AdminService')).length).toBeGreaterThan(
          0,
        );
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
    expect(err.details).toMatch(new RegExp(`^API key ${keyA.keyId} may not act for producer p+…$`));
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
      enqueueRequest({ producerId: prodA, jobType: 'bulk', payload: Buffer.from('1'), ...fields });
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
