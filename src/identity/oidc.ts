/**
 * OIDC ID tokens (SPEC §7.2), verified with `jose` against the issuer's JWKS.
 *
 * The hot path does no network I/O for a known key: the JWKS is fetched at
 * startup (discovered from the issuer unless AUTH_OIDC_JWKS_URL is given),
 * refreshed in the background, and re-fetched on demand only when a token
 * names a `kid` it does not hold (key rotation), at most once per cooldown.
 * Verified tokens are cached until they expire, so a client that reuses its
 * token costs one map lookup.
 */
import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Logger } from 'pino';
import type { Principal } from '../context.js';
import { isJackError, JackError, toError } from '../errors.js';

export interface OidcVerifierOptions {
  issuer: string;
  audience: string;
  /** JWKS location; undefined = discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUrl: string | undefined;
  logger: Logger;
  /** Clock skew allowed on exp/nbf, seconds. @default 60 */
  clockToleranceSec?: number;
  /** Least time between two fetches caused by unknown kids, ms. @default 30000 */
  refetchCooldownMs?: number;
  /** Background JWKS refresh, ms. @default 900000 (15 min) */
  refreshIntervalMs?: number;
  /** Bound of one discovery or JWKS fetch, ms. @default 5000 */
  fetchTimeoutMs?: number;
  /** Verified tokens kept. @default 10000 */
  cacheMaxEntries?: number;
}

export interface OidcVerifier {
  /** The principal of a token verified earlier and not yet expired; no I/O. */
  cached(token: string): Principal | undefined;
  /** Verifies a token; throws JackError `unauthenticated` (or `unavailable` when the keys cannot be fetched). */
  verify(token: string): Promise<Principal>;
  /** Fetches the keys now (startup); a failure is logged, not thrown. */
  warm(): Promise<void>;
  close(): void;
}

/** Asymmetric algorithms only: a JWKS never holds a shared secret for us. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
/** A discovery document or JWKS larger than this is refused, bytes. */
const MAX_DOCUMENT_BYTES = 512 * 1024;

const bad = (what: string) => new JackError('unauthenticated', `bad token: ${what}`);

export function createOidcVerifier(options: OidcVerifierOptions): OidcVerifier {
  const { issuer, audience, logger } = options;
  const toleranceSec = options.clockToleranceSec ?? 60;
  const cooldownMs = options.refetchCooldownMs ?? 30_000;
  const timeoutMs = options.fetchTimeoutMs ?? 5_000;
  const maxEntries = options.cacheMaxEntries ?? 10_000;
  const verified = new Map<string, { principal: Principal; untilMs: number }>();
  let jwksUrl = options.jwksUrl;
  let keySet: JWTVerifyGetKey | undefined;
  let kids = new Set<string>();
  let lastAttemptMs = Number.NEGATIVE_INFINITY;
  let lastRefetchMs = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | undefined;

  const fetchJson = async (url: string): Promise<unknown> => {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'follow',
    });
    if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES)
      throw new Error(`GET ${url} answered more than ${MAX_DOCUMENT_BYTES} bytes`);
    return JSON.parse(text);
  };

  const load = (): Promise<void> => {
    loading ??= (async () => {
      lastAttemptMs = Date.now();
      try {
        if (jwksUrl === undefined) {
          const discovery = (await fetchJson(
            `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
          )) as {
            jwks_uri?: unknown;
          };
          if (typeof discovery.jwks_uri !== 'string')
            throw new Error('the discovery document has no jwks_uri');
          jwksUrl = discovery.jwks_uri;
        }
        const jwks = (await fetchJson(jwksUrl)) as JSONWebKeySet;
        if (!Array.isArray(jwks?.keys)) throw new Error('the JWKS has no keys array');
        const next = new Set(jwks.keys.map((k) => String(k.kid)));
        // A key the issuer withdrew must not keep its tokens alive in the cache.
        if ([...kids].some((kid) => !next.has(kid))) verified.clear();
        keySet = createLocalJWKSet(jwks);
        kids = next;
      } catch (err) {
        logger.warn({ err: toError(err), issuer }, 'OIDC: the issuer keys cannot be fetched');
        throw new JackError(
          'unavailable',
          'the OIDC issuer keys cannot be fetched now; retry later',
          {
            cause: err,
          },
        );
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (keySet === undefined) {
      if (Date.now() - lastAttemptMs < cooldownMs && loading === undefined) {
        throw new JackError(
          'unavailable',
          'the OIDC issuer keys cannot be fetched now; retry later',
        );
      }
      await load();
    }
    try {
      return await (keySet as JWTVerifyGetKey)(header, token);
    } catch (err) {
      // An unknown kid: the issuer may have rotated its keys. Such re-fetches
      // are spaced by the cooldown, so tokens with made-up kids cannot turn
      // Jack into a load generator against the issuer.
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - lastRefetchMs < cooldownMs)
        throw err;
      lastRefetchMs = Date.now();
      await load();
      return (keySet as JWTVerifyGetKey)(header, token);
    }
  };

  const timer = setInterval(
    () => load().catch(() => undefined),
    options.refreshIntervalMs ?? 900_000,
  );
  timer.unref();

  return {
    cached(token) {
      const hit = verified.get(token);
      if (hit === undefined) return undefined;
      if (hit.untilMs > Date.now()) return hit.principal;
      verified.delete(token);
      return undefined;
    },
    async verify(token) {
      let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer,
          audience,
          algorithms: ALGORITHMS,
          clockTolerance: toleranceSec,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        throw describe(err);
      }
      const principal = principalOf(payload);
      if (verified.size >= maxEntries) {
        const oldest = verified.keys().next().value;
        if (oldest !== undefined) verified.delete(oldest);
      }
      verified.set(token, { principal, untilMs: ((payload.exp ?? 0) + toleranceSec) * 1000 });
      return principal;
    },
    async warm() {
      await load().catch(() => undefined);
    },
    close() {
      clearInterval(timer);
      verified.clear();
    },
  };
}

/** email when the issuer verified it, else sub (SPEC §7.2). */
function principalOf(payload: { sub?: string; [claim: string]: unknown }): Principal {
  const email = payload.email;
  if (payload.email_verified === true && typeof email === 'string' && email !== '') {
    return { kind: 'oidc', id: email };
  }
  if (typeof payload.sub === 'string' && payload.sub !== '')
    return { kind: 'oidc', id: payload.sub };
  throw bad('it names no subject');
}

/** Jack's own message for a refused token; never the token, never jose's text. */
function describe(err: unknown): JackError {
  if (isJackError(err)) return err;
  if (err instanceof errors.JWTExpired) return bad('it has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return bad('it was issued by another issuer');
      case 'aud':
        return bad('it is meant for another audience');
      case 'nbf':
        return bad('it is not valid yet');
      default:
        return bad(`its ${err.claim} claim is missing or invalid`);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return bad('its signature is invalid');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return bad('it is signed by a key the issuer does not publish');
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return bad('its signing algorithm is not accepted');
  return bad('it is malformed');
}
