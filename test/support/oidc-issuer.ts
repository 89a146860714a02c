/**
 * A real, local OpenID Connect issuer for tests: an HTTP server on
 * 127.0.0.1 serving `/.well-known/openid-configuration` and a JWKS, and ID
 * tokens signed with `jose` by the key currently published. `rotate()` puts
 * a new key in front (the old one stays published unless told otherwise),
 * as Google does when it rolls its signing keys.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TokenOptions {
  /** Seconds from now; negative = already expired. @default 300 */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBefore?: number;
  /** Overrides the `iss` claim (a wrong issuer). */
  issuer?: string;
  /** The `aud` claim. */
  audience: string;
  /** Signs with a key the issuer never published, under the current kid (a bad signature). */
  foreignKey?: boolean;
}

export interface OidcIssuer {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched. */
  readonly jwksFetches: number;
  /** The kid tokens are signed with now. */
  readonly currentKid: string;
  /** An ID token with `claims` (e.g. sub, email, email_verified). */
  token(claims: JWTPayload, options: TokenOptions): Promise<string>;
  /** Publishes a new signing key and signs with it from now on. */
  rotate(options?: { dropOld?: boolean }): Promise<void>;
  close(): Promise<void>;
}

let kidCounter = 0;
async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  kidCounter += 1;
  const kid = `test-key-${kidCounter}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  let keys: SigningKey[] = [await newKey()];
  let jwksFetches = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      send({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        id_token_signing_alg_values_supported: ['ES256'],
      });
    } else if (req.url === '/jwks') {
      jwksFetches += 1;
      send({ keys: keys.map((k) => k.publicJwk) });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const current = () => keys[0] as SigningKey;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    get jwksFetches() {
      return jwksFetches;
    },
    get currentKid() {
      return current().kid;
    },
    async token(claims, options) {
      const key = current();
      const signingKey = options.foreignKey ? (await newKey()).privateKey : key.privateKey;
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 300));
      if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
      return jwt.sign(signingKey);
    },
    async rotate(options = {}) {
      const next = await newKey();
      keys = options.dropOld ? [next] : [next, ...keys];
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
