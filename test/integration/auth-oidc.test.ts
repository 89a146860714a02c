/**
 * SPEC §7.2 over a real socket, against a real local OIDC issuer (discovery
 * + JWKS over HTTP, tokens signed with jose): admin and producer principals,
 * and every refusal a client can meet.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { eventually } from '../support/eventually.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { type OidcIssuer, startOidcIssuer } from '../support/oidc-issuer.js';

const AUDIENCE = 'https://jack.test';
const ADMIN = 'admin@corp.test';
const SERVICE = 'svc@corp.test';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const list = { pageSize: 0, pageToken: '' };

describe('AUTH_MODE=on with OIDC ID tokens', () => {
  let issuer: OidcIssuer;
  let jack: RunningJack;
  const tokens: string[] = [];
  const token = async (...args: Parameters<OidcIssuer['token']>) => {
    const t = await issuer.token(...args);
    tokens.push(t);
    return t;
  };

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    jack = await startJack({
      AUTH_MODE: 'on',
      AUTH_OIDC_ISSUER: issuer.issuer,
      AUTH_OIDC_AUDIENCE: AUDIENCE,
      AUTH_ADMIN_PRINCIPALS: `${ADMIN}, ops-robot`,
    });
    const now = new Date();
    for (const [producerId, principals] of [
      ['prod_0000000a', [SERVICE]],
      ['prod_0000000b', []],
    ] as const) {
      await jack.app.store.createProducer({
        producerId,
        name: producerId,
        description: '',
        rateLimitRps: 1000,
        createdAt: now,
        updatedAt: now,
        principals: [...principals],
      });
    }
  });
  afterAll(async () => {
    await jack?.close();
    await issuer?.close();
  });

  it('discovers the keys at startup: a valid admin token costs no fetch', async () => {
    const fetched = issuer.jwksFetches;
    expect(fetched).toBe(1);
    const admin = await token(
      { sub: '1', email: ADMIN, email_verified: true },
      { audience: AUDIENCE },
    );
    const response = await call(jack.admin, 'listProducers', list, bearer(admin));
    expect(response.producers.length).toBeGreaterThanOrEqual(2);
    await call(jack.admin, 'listProducers', list, bearer(admin));
    expect(issuer.jwksFetches).toBe(fetched);
    // sub is the principal when there is no verified email
    const robot = await token({ sub: 'ops-robot' }, { audience: AUDIENCE });
    await call(jack.admin, 'listProducers', list, bearer(robot));
  });

  it("lets a producer's principal enqueue for it, and nothing else", async () => {
    const svc = await token(
      { sub: '2', email: SERVICE, email_verified: true },
      { audience: AUDIENCE },
    );
    const ok = await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ producerId: 'prod_0000000a', jobType: 'x' }),
      bearer(svc),
    );
    expect(ok.jobId).not.toBe('');
    expect(
      await callError(
        call(
          jack.jobs,
          'enqueue',
          enqueueRequest({ producerId: 'prod_0000000b', jobType: 'x' }),
          bearer(svc),
        ),
      ),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      details: `OIDC principal ${SERVICE} may not act for producer prod_0000000b`,
    });
    expect((await callError(call(jack.admin, 'listProducers', list, bearer(svc)))).code).toBe(
      status.PERMISSION_DENIED,
    );
  });

  it('sees a new producer listing the principal at once (the index follows the store snapshot)', async () => {
    const svc = await token(
      { sub: '2', email: SERVICE, email_verified: true },
      { audience: AUDIENCE },
    );
    const request = enqueueRequest({ producerId: 'prod_0000000c', jobType: 'x' });
    expect((await callError(call(jack.jobs, 'enqueue', request, bearer(svc)))).code).toBe(
      status.PERMISSION_DENIED,
    );
    const now = new Date();
    await jack.app.store.createProducer({
      producerId: 'prod_0000000c',
      name: 'c',
      description: '',
      rateLimitRps: 1000,
      createdAt: now,
      updatedAt: now,
      principals: [SERVICE],
    });
    expect((await call(jack.jobs, 'enqueue', request, bearer(svc))).jobId).not.toBe('');
  });

  it('knows an unverified email by its sub: not an admin', async () => {
    const unverified = await token(
      { sub: 'sub-3', email: ADMIN, email_verified: false },
      { audience: AUDIENCE },
    );
    expect(await callError(call(jack.admin, 'listProducers', list, bearer(unverified)))).toEqual({
      code: status.PERMISSION_DENIED,
      details: 'OIDC principal sub-3 may not call jack.AdminService/ListProducers: admins only',
    });
  });

  it('refuses expired, wrong-audience, wrong-issuer and forged tokens as UNAUTHENTICATED', async () => {
    const claims = { sub: '1', email: ADMIN, email_verified: true };
    const cases: Array<[string, string]> = [
      [await token(claims, { audience: AUDIENCE, expiresIn: -300 }), 'bad token: it has expired'],
      [
        await token(claims, { audience: 'https://other.test' }),
        'bad token: it is meant for another audience',
      ],
      [
        await token(claims, { audience: AUDIENCE, issuer: 'https://evil.test' }),
        'bad token: it was issued by another issuer',
      ],
      [
        await token(claims, { audience: AUDIENCE, foreignKey: true }),
        'bad token: its signature is invalid',
      ],
    ];
    for (const [jwt, details] of cases) {
      expect(await callError(call(jack.admin, 'listProducers', list, bearer(jwt)))).toEqual({
        code: status.UNAUTHENTICATED,
        details,
      });
    }
  });

  it('follows a key rotation with one JWKS fetch', async () => {
    const before = issuer.jwksFetches;
    await issuer.rotate({ dropOld: true });
    const rotated = await token(
      { sub: '1', email: ADMIN, email_verified: true },
      { audience: AUDIENCE },
    );
    await call(jack.admin, 'listProducers', list, bearer(rotated));
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('never logs a token', () => {
    const text = JSON.stringify(jack.logs);
    expect(tokens.length).toBeGreaterThan(5);
    for (const t of tokens) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split('.')[2]);
    }
  });
});

/**
 * QA of SPEC §7 with §10 over real sockets, against the local OIDC issuer:
 * a producer's `principals` changed through UpdateProducer decide who may
 * act for it — at once on the replica that wrote them, within one
 * CONFIG_REFRESH_INTERVAL on another — for a token each replica has
 * already verified and cached, in both directions (granted, then taken).
 */
describe('OIDC principals changed at run time', () => {
  const AUDIENCE = 'https://jack.qa';
  const ADMIN = 'admin@corp.qa';
  const SERVICE = 'svc@corp.qa';
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  describe('principals changed by UpdateProducer', () => {
    let issuer: OidcIssuer;
    let writer: RunningJack;
    let other: RunningJack;
    let admin: Record<string, string>;
    let svc: Record<string, string>;

    beforeAll(async () => {
      issuer = await startOidcIssuer();
      const objects = createMemoryObjects();
      const env = {
        AUTH_MODE: 'on',
        AUTH_OIDC_ISSUER: issuer.issuer,
        AUTH_OIDC_AUDIENCE: AUDIENCE,
        AUTH_ADMIN_PRINCIPALS: ADMIN,
        CONFIG_REFRESH_INTERVAL: '300ms',
        LOG_LEVEL: 'warn',
      };
      writer = await startJack(env, { memoryObjects: objects });
      other = await startJack(env, { memoryObjects: objects });
      admin = bearer(
        await issuer.token(
          { sub: 'a', email: ADMIN, email_verified: true },
          { audience: AUDIENCE },
        ),
      );
      svc = bearer(
        await issuer.token(
          { sub: 's', email: SERVICE, email_verified: true },
          { audience: AUDIENCE },
        ),
      );
    });
    afterAll(async () => {
      await writer?.close();
      await other?.close();
      await issuer?.close();
    });

    const setPrincipals = (producerId: string, principals: string[]) =>
      call(
        writer.admin,
        'updateProducer',
        {
          producer: {
            producerId,
            name: '',
            description: '',
            rateLimitRps: 0,
            principals,
            createdAt: undefined,
            updatedAt: undefined,
          },
          updateMask: ['principals'],
        },
        admin,
      );
    const enqueue = (jack: RunningJack, producerId: string) =>
      call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 't' }), svc);
    const allowed = (jack: RunningJack, producerId: string) =>
      enqueue(jack, producerId).then(
        () => true,
        (err: { code: number }) => {
          if (err.code !== status.PERMISSION_DENIED) throw err;
          return false;
        },
      );

    it('grants and takes away the right to act for the producer', async () => {
      const { producer } = await call(
        writer.admin,
        'createProducer',
        { name: 'p', description: '' },
        admin,
      );
      const producerId = (producer as Producer).producerId;
      await other.app.store.refresh();
      // Both replicas verify (and cache) the service's token here.
      for (const jack of [writer, other]) {
        expect(await callError(enqueue(jack, producerId))).toEqual({
          code: status.PERMISSION_DENIED,
          details: `OIDC principal ${SERVICE} may not act for producer ${producerId}`,
        });
      }

      await setPrincipals(producerId, [SERVICE]);
      expect(await allowed(writer, producerId)).toBe(true);
      await eventually('the other replica grants', () => allowed(other, producerId), 3_000);
      // Its own producer only, also for CancelJob.
      const { producer: stranger } = await call(
        writer.admin,
        'createProducer',
        { name: 'q', description: '' },
        admin,
      );
      expect(
        (
          await callError(
            call(
              writer.jobs,
              'cancelJob',
              { producerId: (stranger as Producer).producerId, jobId: 'pjob_x' },
              svc,
            ),
          )
        ).code,
      ).toBe(status.PERMISSION_DENIED);

      await setPrincipals(producerId, []);
      expect(await allowed(writer, producerId)).toBe(false);
      await eventually(
        'the other replica takes it away',
        async () => !(await allowed(other, producerId)),
        3_000,
      );
    });
  });
});
