import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OidcIssuer, startOidcIssuer } from '../../test/support/oidc-issuer.js';
import { isJackError } from '../errors.js';
import { createOidcVerifier, type OidcVerifier, type OidcVerifierOptions } from './oidc.js';

const AUDIENCE = 'https://jack.example.test';
const silent = pino({ level: 'silent' });

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isJackError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the token to be refused');
}

describe('OIDC ID tokens against a local issuer', () => {
  let issuer: OidcIssuer;
  const verifiers: OidcVerifier[] = [];
  const verifier = (options: Partial<OidcVerifierOptions> = {}) => {
    const v = createOidcVerifier({
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUrl: undefined,
      logger: silent,
      refetchCooldownMs: 0,
      ...options,
    });
    verifiers.push(v);
    return v;
  };

  beforeAll(async () => {
    issuer = await startOidcIssuer();
  });
  afterAll(async () => {
    await issuer.close();
  });
  afterEach(() => {
    for (const v of verifiers.splice(0)) v.close();
  });

  it('accepts a valid token; the principal is the verified email', async () => {
    const token = await issuer.token(
      { sub: '1234', email: 'svc@example.iam.gserviceaccount.com', email_verified: true },
      { audience: AUDIENCE },
    );
    expect(await verifier().verify(token)).toEqual({
      kind: 'oidc',
      id: 'svc@example.iam.gserviceaccount.com',
    });
  });

  it('uses sub when the email is not verified', async () => {
    const token = await issuer.token(
      { sub: '1234', email: 'someone@example.com', email_verified: false },
      { audience: AUDIENCE },
    );
    expect(await verifier().verify(token)).toEqual({ kind: 'oidc', id: '1234' });
  });

  it('refuses an expired token, but tolerates 60 s of clock skew', async () => {
    const v = verifier();
    const expired = await issuer.token({ sub: 'a' }, { audience: AUDIENCE, expiresIn: -120 });
    expect(await refusal(v.verify(expired))).toEqual({
      code: 'unauthenticated',
      message: 'bad token: it has expired',
    });
    const justExpired = await issuer.token({ sub: 'a' }, { audience: AUDIENCE, expiresIn: -30 });
    expect((await v.verify(justExpired)).id).toBe('a');
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await issuer.token({ sub: 'a' }, { audience: AUDIENCE, notBefore: 600 });
    expect((await refusal(verifier().verify(token))).message).toBe(
      'bad token: it is not valid yet',
    );
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    const v = verifier();
    const otherAudience = await issuer.token({ sub: 'a' }, { audience: 'https://other.test' });
    expect((await refusal(v.verify(otherAudience))).message).toBe(
      'bad token: it is meant for another audience',
    );
    const otherIssuer = await issuer.token(
      { sub: 'a' },
      { audience: AUDIENCE, issuer: 'https://accounts.example.test' },
    );
    expect((await refusal(v.verify(otherIssuer))).message).toBe(
      'bad token: it was issued by another issuer',
    );
  });

  it('refuses a bad signature, and a tampered payload', async () => {
    const v = verifier();
    const forged = await issuer.token({ sub: 'a' }, { audience: AUDIENCE, foreignKey: true });
    expect(await refusal(v.verify(forged))).toEqual({
      code: 'unauthenticated',
      message: 'bad token: its signature is invalid',
    });
    const [header, , signature] = (await issuer.token({ sub: 'a' }, { audience: AUDIENCE })).split(
      '.',
    );
    const payload = Buffer.from(
      JSON.stringify({ sub: 'admin', iss: issuer.issuer, aud: AUDIENCE, exp: 9_999_999_999 }),
    ).toString('base64url');
    expect((await refusal(v.verify(`${header}.${payload}.${signature}`))).message).toBe(
      'bad token: its signature is invalid',
    );
  });

  it('follows a key rotation: an unknown kid re-fetches the JWKS once', async () => {
    const v = verifier();
    expect((await v.verify(await issuer.token({ sub: 'a' }, { audience: AUDIENCE }))).id).toBe('a');
    const before = issuer.jwksFetches;
    await issuer.rotate({ dropOld: true });
    const rotated = await issuer.token({ sub: 'b' }, { audience: AUDIENCE });
    expect((await v.verify(rotated)).id).toBe('b');
    expect(issuer.jwksFetches).toBe(before + 1);
    // A known key: no fetch.
    expect((await v.verify(await issuer.token({ sub: 'c' }, { audience: AUDIENCE }))).id).toBe('c');
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('re-fetches for an unknown kid at once, then at most once per cooldown', async () => {
    const v = verifier({ refetchCooldownMs: 60_000, jwksUrl: issuer.jwksUrl });
    await v.warm();
    const before = issuer.jwksFetches;
    // The startup fetch does not delay a rotation that follows it.
    await issuer.rotate();
    expect((await v.verify(await issuer.token({ sub: 'a' }, { audience: AUDIENCE }))).id).toBe('a');
    expect(issuer.jwksFetches).toBe(before + 1);
    await issuer.rotate();
    const token = await issuer.token({ sub: 'b' }, { audience: AUDIENCE });
    expect((await refusal(v.verify(token))).message).toBe(
      'bad token: it is signed by a key the issuer does not publish',
    );
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('caches verified tokens until they expire: no I/O for a token seen before', async () => {
    const v = verifier();
    const token = await issuer.token({ sub: 'cached' }, { audience: AUDIENCE });
    expect(v.cached(token)).toBeUndefined();
    await v.verify(token);
    expect(v.cached(token)).toEqual({ kind: 'oidc', id: 'cached' });
    const expired = await issuer.token({ sub: 'old' }, { audience: AUDIENCE, expiresIn: -58 });
    await v.verify(expired);
    // Accepted within the skew, then it expires from the cache by itself.
    await new Promise((r) => setTimeout(r, 2100));
    expect(v.cached(expired)).toBeUndefined();
  });

  it('answers UNAVAILABLE, not UNAUTHENTICATED, when the keys cannot be fetched', async () => {
    const v = verifier({ jwksUrl: 'http://127.0.0.1:1/jwks', fetchTimeoutMs: 500 });
    const token = await issuer.token({ sub: 'a' }, { audience: AUDIENCE });
    expect(await refusal(v.verify(token))).toEqual({
      code: 'unavailable',
      message: 'the OIDC issuer keys cannot be fetched now; retry later',
    });
  });
});
