/**
 * SPEC §14 "Who may", over a real socket with AUTH_MODE=on: admins do
 * everything; a producer key reads its own producer's jobs and never
 * reports; a worker key reports and reads (only its producer's when it is
 * bound to one) and may do nothing else; CreateApiKey validates the role.
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/gen/jack/jobs.js';
import { KeyRole } from '../../src/gen/jack/storage.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { jobIdOf, openWatch, report } from '../support/jobs.js';

const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const listRequest = (producerId: string) => ({
  producerId,
  jobType: '',
  states: [],
  createdAfter: undefined,
  createdBefore: undefined,
  includeShadow: false,
  pageSize: 0,
  pageToken: '',
});

describe('jack.Jobs authorization (AUTH_MODE=on)', () => {
  let jack: RunningJack;
  let prodA: string;
  let prodB: string;
  let jobA: string;
  let jobB: string;
  const tokens = {} as Record<'producerA' | 'worker' | 'workerA' | 'admin', string>;
  const admin = bearer(BOOTSTRAP);

  const createKey = async (producerId: string, role: KeyRole) =>
    (await call(jack.admin, 'createApiKey', { producerId, description: 'test', role }, admin))
      .token;

  beforeAll(async () => {
    jack = await startJack({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP });
    prodA = (await call(jack.admin, 'createProducer', { name: 'a', description: '' }, admin))
      .producer?.producerId as string;
    prodB = (await call(jack.admin, 'createProducer', { name: 'b', description: '' }, admin))
      .producer?.producerId as string;
    tokens.producerA = await createKey(prodA, KeyRole.KEY_ROLE_UNSPECIFIED);
    tokens.worker = await createKey('', KeyRole.KEY_ROLE_WORKER);
    tokens.workerA = await createKey(prodA, KeyRole.KEY_ROLE_WORKER);
    tokens.admin = await createKey('', KeyRole.KEY_ROLE_ADMIN);
    jobA = jobIdOf(prodA);
    jobB = jobIdOf(prodB);
    for (const [jobId, producerId] of [
      [jobA, prodA],
      [jobB, prodB],
    ] as const) {
      await call(jack.ledger, 'reportJobStatus', report({ jobId, producerId }), admin);
    }
  });
  afterAll(async () => {
    await jack?.close();
  });

  const getJob = (jobId: string, token: string) =>
    call(jack.ledger, 'getJob', { jobId }, bearer(token));
  const listJobs = (producerId: string, token: string) =>
    call(jack.ledger, 'listJobs', listRequest(producerId), bearer(token));
  const reportAs = (jobId: string, producerId: string, token: string) =>
    call(jack.ledger, 'reportJobStatus', report({ jobId, producerId }), bearer(token));

  it('refuses every jack.Jobs call without a credential as UNAUTHENTICATED', async () => {
    expect((await callError(call(jack.ledger, 'getJob', { jobId: jobA }))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await callError(call(jack.ledger, 'listJobs', listRequest(prodA)))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await openWatch(jack.ledger, jobA).ended()).code).toBe(status.UNAUTHENTICATED);
  });

  it('lets admins (the bootstrap key and an admin-role key) do everything', async () => {
    for (const token of [BOOTSTRAP, tokens.admin]) {
      expect((await getJob(jobB, token)).jobId).toBe(jobB);
      expect((await listJobs('', token)).jobs.length).toBeGreaterThanOrEqual(2);
      expect((await reportAs(jobA, prodA, token)).job?.jobId).toBe(jobA);
    }
  });

  describe('a producer key', () => {
    it("reads its own producer's jobs", async () => {
      expect((await getJob(jobA, tokens.producerA)).jobId).toBe(jobA);
      expect((await listJobs(prodA, tokens.producerA)).jobs.map((j) => j.jobId)).toEqual([jobA]);
      const watch = openWatch(jack.ledger, jobA, bearer(tokens.producerA));
      expect((await watch.received(1))[0]?.jobId).toBe(jobA);
      watch.cancel();
    });

    it("may not read another producer's job: PERMISSION_DENIED, whether it exists or not", async () => {
      for (const jobId of [jobB, jobIdOf(prodB)]) {
        const err = await callError(getJob(jobId, tokens.producerA));
        expect(err.code).toBe(status.PERMISSION_DENIED);
        expect(err.details).toMatch(/belongs to another producer/);
      }
      expect((await openWatch(jack.ledger, jobB, bearer(tokens.producerA)).ended()).code).toBe(
        status.PERMISSION_DENIED,
      );
    });

    it('may not list another producer or every producer', async () => {
      const other = await callError(listJobs(prodB, tokens.producerA));
      expect(other).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringContaining(prodB),
      });
      const all = await callError(listJobs('', tokens.producerA));
      expect(all).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/set producer_id/),
      });
    });

    it('never reports', async () => {
      const err = await callError(reportAs(jobA, prodA, tokens.producerA));
      expect(err).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/workers and admins only/),
      });
    });
  });

  describe('a worker key', () => {
    it('reports and reads jobs of any producer', async () => {
      const res = await reportAs(jobB, prodB, tokens.worker);
      expect(res.job?.state).toBe(JobState.JOB_STATE_RUNNING);
      expect((await getJob(jobA, tokens.worker)).jobId).toBe(jobA);
      expect((await listJobs('', tokens.worker)).jobs.length).toBeGreaterThanOrEqual(2);
    });

    it('may not enqueue or administer', async () => {
      const enqueue = await callError(
        call(
          jack.jobs,
          'enqueue',
          enqueueRequest({ producerId: prodA, jobType: 'x' }),
          bearer(tokens.workerA),
        ),
      );
      expect(enqueue).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/is a worker/),
      });
      const adminCall = await callError(
        call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' }, bearer(tokens.worker)),
      );
      expect(adminCall.code).toBe(status.PERMISSION_DENIED);
    });

    it('bound to a producer, reports and reads only that producer', async () => {
      expect((await reportAs(jobA, prodA, tokens.workerA)).job?.jobId).toBe(jobA);
      expect((await getJob(jobA, tokens.workerA)).jobId).toBe(jobA);
      const reportB = await callError(reportAs(jobB, prodB, tokens.workerA));
      expect(reportB).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringMatching(/bound to producer/),
      });
      expect((await callError(getJob(jobB, tokens.workerA))).code).toBe(status.PERMISSION_DENIED);
      expect((await callError(listJobs(prodB, tokens.workerA))).code).toBe(
        status.PERMISSION_DENIED,
      );
      expect((await callError(listJobs('', tokens.workerA))).code).toBe(status.PERMISSION_DENIED);
    });
  });

  describe('CreateApiKey with a role', () => {
    it.each([
      ['an admin key for a producer', () => prodA, KeyRole.KEY_ROLE_ADMIN, /takes no producer_id/],
      [
        'a producer key without a producer',
        () => '',
        KeyRole.KEY_ROLE_PRODUCER,
        /needs a producer_id/,
      ],
      ['an unknown role', () => '', 42 as KeyRole, /not a known KeyRole/],
    ])('refuses %s with INVALID_ARGUMENT', async (_what, producerId, role, details) => {
      const err = await callError(
        call(
          jack.admin,
          'createApiKey',
          { producerId: producerId(), description: '', role },
          admin,
        ),
      );
      expect(err).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(details),
      });
    });

    it('keeps the role on the key (ListApiKeys shows it)', async () => {
      const keys = await call(
        jack.admin,
        'listApiKeys',
        { producerId: prodA, pageSize: 0, pageToken: '' },
        admin,
      );
      expect(keys.apiKeys.map((k) => k.role).sort()).toEqual(
        [KeyRole.KEY_ROLE_UNSPECIFIED, KeyRole.KEY_ROLE_WORKER].sort(),
      );
    });
  });
});
