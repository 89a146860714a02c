import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { createJobIdGenerator } from '../jobid/job-id.js';
import { createAuthorizer, createPrincipalIndex } from './principals.js';

function source() {
  let producers = [
    { producerId: 'prod_a', principals: ['svc-a@corp.test', 'spiffe://corp/shared'] },
    { producerId: 'prod_b', principals: ['spiffe://corp/shared'] },
  ];
  return {
    listProducers: () => producers,
    replace(next: typeof producers) {
      producers = next;
    },
  };
}

function denial(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof JackError && err.code === 'permission_denied') return err.message;
    throw err;
  }
  throw new Error('expected PERMISSION_DENIED');
}

describe('authorization', () => {
  it('indexes principals → producers and rebuilds only when the snapshot changes', () => {
    const src = source();
    const index = createPrincipalIndex(src);
    expect([...(index.producersOf('spiffe://corp/shared') ?? [])]).toEqual(['prod_a', 'prod_b']);
    for (let i = 0; i < 100; i += 1) index.producersOf('svc-a@corp.test');
    expect(index.builds).toBe(1);
    src.replace([{ producerId: 'prod_c', principals: ['svc-a@corp.test'] }]);
    expect([...(index.producersOf('svc-a@corp.test') ?? [])]).toEqual(['prod_c']);
    expect(index.builds).toBe(2);
  });

  it('lets admins call everything', () => {
    const authz = createAuthorizer({
      adminPrincipals: ['ops@corp.test'],
      index: createPrincipalIndex(source()),
    });
    for (const admin of [
      { kind: 'bootstrap' as const, id: 'bootstrap-admin-key' },
      { kind: 'api_key' as const, id: 'key_0000000000000001' },
      { kind: 'oidc' as const, id: 'ops@corp.test' },
    ]) {
      expect(authz.isAdmin(admin)).toBe(true);
      authz.authorizeCall(admin, 'jack.AdminService', 'DeleteProducer', { producerId: 'prod_a' });
      authz.authorizeCall(admin, 'jack.BackgroundJobs', 'Enqueue', { producerId: 'anything' });
    }
  });

  it('lets a producer enqueue and cancel for itself only, and never administer', () => {
    const authz = createAuthorizer({ adminPrincipals: [], index: createPrincipalIndex(source()) });
    const key = { kind: 'api_key' as const, id: 'key_0000000000000002', producerId: 'prod_a' };
    const oidc = { kind: 'oidc' as const, id: 'svc-a@corp.test' };
    for (const p of [key, oidc]) {
      authz.authorizeCall(p, 'jack.BackgroundJobs', 'Enqueue', { producerId: 'prod_a' });
      authz.authorizeCall(p, 'jack.BackgroundJobs', 'CancelJob', { producerId: 'prod_a' });
      authz.authorizeCall(p, 'jack.BackgroundJobs', 'EnqueueBulk', { jobs: [] });
      authz.authorizeJob(p, 'prod_a');
    }
    expect(
      denial(() =>
        authz.authorizeCall(key, 'jack.BackgroundJobs', 'Enqueue', { producerId: 'prod_b' }),
      ),
    ).toBe('API key key_0000000000000002 may not act for producer prod_b');
    expect(denial(() => authz.authorizeJob(oidc, 'prod_b'))).toBe(
      'OIDC principal svc-a@corp.test may not act for producer prod_b',
    );
    expect(denial(() => authz.authorizeCall(oidc, 'jack.AdminService', 'ListProducers', {}))).toBe(
      'OIDC principal svc-a@corp.test may not call jack.AdminService/ListProducers: admins only',
    );
    const stranger = { kind: 'certificate' as const, id: 'spiffe://corp/stranger' };
    expect(
      denial(() =>
        authz.authorizeCall(stranger, 'jack.BackgroundJobs', 'EnqueueBulk', { jobs: [] }),
      ),
    ).toBe('certificate principal spiffe://corp/stranger may not act for any producer');
    const shared = { kind: 'certificate' as const, id: 'spiffe://corp/shared' };
    authz.authorizeJob(shared, 'prod_b');
  });

  it('gives AUTH_WORKER_PRINCIPALS the worker role: report and read any producer, nothing else', () => {
    const authz = createAuthorizer({
      adminPrincipals: ['ops@corp.test'],
      workerPrincipals: ['spiffe://corp/worker', 'ops@corp.test'],
      index: createPrincipalIndex(source()),
    });
    const worker = { kind: 'certificate' as const, id: 'spiffe://corp/worker' };
    const jobOfB = createJobIdGenerator().next('prod_b', 'resize', Date.now());
    expect(authz.isWorker(worker)).toBe(true);
    authz.authorizeCall(worker, 'jack.Jobs', 'ReportJobStatus', { producerId: 'prod_b' });
    authz.authorizeCall(worker, 'jack.Jobs', 'GetJob', { jobId: jobOfB });
    authz.authorizeCall(worker, 'jack.Jobs', 'ListJobs', { producerId: '' });
    expect(
      denial(() =>
        authz.authorizeCall(worker, 'jack.BackgroundJobs', 'Enqueue', { producerId: 'prod_b' }),
      ),
    ).toMatch(/is a worker: it may call jack.Jobs only/);
    // An admin listed as a worker too stays an admin.
    expect(authz.isAdmin({ kind: 'oidc', id: 'ops@corp.test' })).toBe(true);
    // A producer's OIDC principal reads its producer's jobs, not another's, and never reports.
    const producer = { kind: 'oidc' as const, id: 'svc-a@corp.test' };
    authz.authorizeCall(producer, 'jack.Jobs', 'ListJobs', { producerId: 'prod_a' });
    expect(
      denial(() => authz.authorizeCall(producer, 'jack.Jobs', 'GetJob', { jobId: jobOfB })),
    ).toMatch(/belongs to another producer/);
    expect(
      denial(() =>
        authz.authorizeCall(producer, 'jack.Jobs', 'ReportJobStatus', { producerId: 'prod_a' }),
      ),
    ).toMatch(/workers and admins only/);
  });
});
