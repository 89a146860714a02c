import { randomBytes } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { apiKeyIdOf, type StoredApiKeyLike, sha256 } from './api-keys.js';
import { certificatePrincipal, createAuthenticator } from './credentials.js';

/** A token in the shared format, and its stored form. */
function newKey(producerId: string): { token: string; stored: StoredApiKeyLike } {
  const hex = randomBytes(8).toString('hex');
  const token = `jk_${hex}_${randomBytes(32).toString('base64url')}`;
  return {
    token,
    stored: { key: { keyId: `key_${hex}`, producerId }, tokenSha256: sha256(token) },
  };
}

const BOOTSTRAP = 'b'.repeat(40);

function setup() {
  const keys = new Map<string, StoredApiKeyLike>();
  const auth = createAuthenticator({
    bootstrapAdminKey: BOOTSTRAP,
    apiKeys: (id) => keys.get(id),
    oidc: undefined,
    clientCertificates: false,
  });
  const add = (producerId: string) => {
    const key = newKey(producerId);
    keys.set(key.stored.key?.keyId ?? '', key.stored);
    return key;
  };
  return { auth, keys, add };
}

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof JackError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('authentication', () => {
  it('parses the key id out of the shared token format only', () => {
    const { token, stored } = newKey('prod_1');
    expect(apiKeyIdOf(token)).toBe(stored.key?.keyId);
    expect(apiKeyIdOf(`${token}x`)).toBeUndefined();
    expect(apiKeyIdOf(token.replace('jk_', 'jx_'))).toBeUndefined();
  });

  it('accepts a producer key and an admin key, binding the producer', () => {
    const { auth, add } = setup();
    const producerKey = add('prod_1');
    const adminKey = add('');
    expect(auth.authenticate(`Bearer ${producerKey.token}`, () => undefined)).toEqual({
      kind: 'api_key',
      id: producerKey.stored.key?.keyId,
      producerId: 'prod_1',
    });
    expect(auth.authenticate(`bearer ${adminKey.token}`, () => undefined)).toEqual({
      kind: 'api_key',
      id: adminKey.stored.key?.keyId,
    });
  });

  it('accepts the bootstrap key', () => {
    expect(setup().auth.authenticate(`Bearer ${BOOTSTRAP}`, () => undefined)).toEqual({
      kind: 'bootstrap',
      id: 'bootstrap-admin-key',
    });
  });

  it('refuses a wrong secret and a revoked key alike, never echoing the token', () => {
    const { auth, keys, add } = setup();
    const key = add('prod_1');
    const wrong = `${key.token.slice(0, -1)}${key.token.endsWith('A') ? 'B' : 'A'}`;
    const wrongSecret = refusal(() => auth.authenticate(`Bearer ${wrong}`, () => undefined));
    expect(wrongSecret).toEqual({
      code: 'unauthenticated',
      message: `unknown or revoked API key ${key.stored.key?.keyId}`,
    });
    keys.clear(); // revoked: gone from the snapshot
    const revoked = refusal(() => auth.authenticate(`Bearer ${key.token}`, () => undefined));
    expect(revoked).toEqual(wrongSecret);
    expect(revoked.message).not.toContain(key.token.slice(20));
  });

  it('says which: missing, malformed header, malformed key, unsupported token', () => {
    const { auth } = setup();
    expect(refusal(() => auth.authenticate(undefined, () => undefined)).message).toMatch(
      /^missing credential/,
    );
    expect(refusal(() => auth.authenticate('Basic dXNlcjpwYXNz', () => undefined)).message).toBe(
      'malformed authorization metadata: expected "Bearer <token>"',
    );
    expect(
      refusal(() => auth.authenticate(`Bearer ${'x'.repeat(20_000)}`, () => undefined)).message,
    ).toBe('malformed authorization metadata: expected "Bearer <token>"');
    expect(
      refusal(() => auth.authenticate('Bearer jk_nothex_secret', () => undefined)).message,
    ).toBe('malformed API key: expected jk_<key id>_<secret>');
    expect(refusal(() => auth.authenticate('Bearer aaa.bbb.ccc', () => undefined)).message).toBe(
      'bad token: OIDC ID tokens are not accepted here (AUTH_OIDC_ISSUER is not set)',
    );
    expect(refusal(() => auth.authenticate('Bearer hunter2', () => undefined)).message).toBe(
      'malformed token: expected an API key',
    );
  });

  it('takes the principal of a client certificate: first URI SAN, else CN', () => {
    const cert = (subjectaltname: string | undefined, cn: string) =>
      ({ subjectaltname, subject: { CN: cn } }) as unknown as PeerCertificate;
    expect(
      certificatePrincipal(
        cert('DNS:svc.local, URI:spiffe://corp/ns/a/sa/b, URI:spiffe://other', 'svc'),
      ),
    ).toEqual({ kind: 'certificate', id: 'spiffe://corp/ns/a/sa/b' });
    expect(certificatePrincipal(cert('URI:"spiffe://corp/a,b"', 'svc'))?.id).toBe(
      'spiffe://corp/a,b',
    );
    expect(certificatePrincipal(cert('DNS:svc.local', 'svc'))?.id).toBe('svc');
    expect(certificatePrincipal(cert(undefined, 'svc'))?.id).toBe('svc');
    const withCertificates = createAuthenticator({
      bootstrapAdminKey: undefined,
      apiKeys: () => undefined,
      oidc: undefined,
      clientCertificates: true,
    });
    expect(withCertificates.authenticate(undefined, () => cert(undefined, 'client-a'))).toEqual({
      kind: 'certificate',
      id: 'client-a',
    });
    // Without TLS_CLIENT_CA_FILE a certificate is never asked for, let alone trusted.
    expect(
      refusal(() => setup().auth.authenticate(undefined, () => cert(undefined, 'client-a')))
        .message,
    ).toMatch(/^missing credential/);
  });
});
