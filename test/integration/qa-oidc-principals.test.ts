/**
 * QA of SPEC §7 with §10 over real sockets, against the local OIDC issuer:
 * a producer's `principals` changed through UpdateProducer decide who may
 * act for it — at once on the replica that wrote them, within one
 * CONFIG_REFRESH_INTERVAL on another — for a token each replica has
 * already verified and cached, in both directions (granted, then taken).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { eventually } from '../support/eventually.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { type OidcIssuer, startOidcIssuer } from '../support/oidc-issuer.js';

const AUDIENCE = 'https://jack.qa';
const ADMIN = 'admin@corp.qa';
const SERVICE = 'svc@corp.qa';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('QA §7/§10: principals changed by UpdateProducer', () => {
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
      await issuer.token({ sub: 'a', email: ADMIN, email_verified: true }, { audience: AUDIENCE }),
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
