/**
 * SPEC §7.3 over a real TLS socket: TLS_CLIENT_CA_FILE makes the handshake
 * refuse clients without a certificate from that CA; the principal is the
 * first URI SAN (SPIFFE) or the subject CN. Certificates are made by openssl.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServiceClient } from '../../src/gen/jack/admin.js';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { clientCert, makeCa, selfSignedCertificate } from '../support/tls.js';

const TLS_CLIENT_OPTIONS = { 'grpc.ssl_target_name_override': 'localhost' };
const list = { pageSize: 0, pageToken: '' };

describe('client certificates (TLS_CLIENT_CA_FILE)', () => {
  let dir: string;
  let serverCert: Buffer;
  let jack: RunningJack;
  let admin: { cert: Buffer; key: Buffer };
  let spiffe: { cert: Buffer; key: Buffer };
  let rogue: { cert: Buffer; key: Buffer };
  const clients: Array<{ close(): void }> = [];

  const creds = (client?: { cert: Buffer; key: Buffer }) =>
    client === undefined
      ? credentials.createSsl(serverCert)
      : credentials.createSsl(serverCert, client.key, client.cert);
  const jobsClient = (client?: { cert: Buffer; key: Buffer }) => {
    const c = new BackgroundJobsClient(jack.address, creds(client), TLS_CLIENT_OPTIONS);
    clients.push(c);
    return c;
  };
  const adminClient = (client?: { cert: Buffer; key: Buffer }) => {
    const c = new AdminServiceClient(jack.address, creds(client), TLS_CLIENT_OPTIONS);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-mtls-'));
    const server = await selfSignedCertificate(dir, 'localhost', ['127.0.0.1']);
    serverCert = await readFile(server.cert);
    const ca = await makeCa(dir, 'clients-ca');
    const rogueCa = await makeCa(dir, 'rogue-ca');
    admin = await clientCert(dir, ca, 'console');
    spiffe = await clientCert(dir, ca, 'billing', 'spiffe://corp.test/ns/billing/sa/worker');
    rogue = await clientCert(dir, rogueCa, 'console-rogue');
    jack = await startJack({
      AUTH_MODE: 'on',
      TLS_CERT_FILE: server.cert,
      TLS_KEY_FILE: server.key,
      TLS_CLIENT_CA_FILE: ca.cert,
      AUTH_ADMIN_PRINCIPALS: 'console',
    });
    const now = new Date();
    await jack.app.store.createProducer({
      producerId: 'prod_000000bb',
      name: 'billing',
      description: '',
      rateLimitRps: 1000,
      createdAt: now,
      updatedAt: now,
      principals: ['spiffe://corp.test/ns/billing/sa/worker'],
    });
  }, 30_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await jack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a client without a certificate, or with one of another CA, at the handshake', async () => {
    for (const client of [undefined, rogue]) {
      const err = await callError(call(adminClient(client), 'listProducers', list, {}, 3_000));
      expect(err.code).toBe(status.UNAVAILABLE);
    }
  });

  it('takes the subject CN as principal: an admin listed in AUTH_ADMIN_PRINCIPALS', async () => {
    const response = await call(adminClient(admin), 'listProducers', list);
    expect(response.producers.map((p) => p.producerId)).toEqual(['prod_000000bb']);
  });

  it('takes the SPIFFE URI SAN over the CN, and matches it against Producer.principals', async () => {
    const jobs = jobsClient(spiffe);
    const ok = await call(
      jobs,
      'enqueue',
      enqueueRequest({ producerId: 'prod_000000bb', jobType: 'x' }),
    );
    expect(ok.jobId).not.toBe('');
    expect(
      await callError(
        call(jobs, 'enqueue', enqueueRequest({ producerId: 'prod_000000cc', jobType: 'x' })),
      ),
    ).toEqual({
      code: status.PERMISSION_DENIED,
      details:
        'certificate principal spiffe://corp.test/ns/billing/sa/worker may not act for producer prod_000000cc',
    });
    expect((await callError(call(adminClient(spiffe), 'listProducers', list))).code).toBe(
      status.PERMISSION_DENIED,
    );
  });
});
