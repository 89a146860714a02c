/**
 * Secrets never reach a log line (SPEC §6). URLs in the configuration
 * (GCS_ENDPOINT, PUBSUB_REST_ENDPOINT, REDIS_URL, …) may carry credentials
 * as `user:password@` or as a token in the query; an error text of a client
 * library may repeat them. These helpers mask both, and API key secrets and
 * bearer tokens too, wherever they occur in a string: the logger applies `redactSecrets` to every line it writes, and
 * the startup failure line on stderr goes through it too.
 */

/** Query parameters whose value is a secret (matched anywhere in the name, case-insensitively). */
const SECRET_PARAMS = [
  'token',
  'key',
  'secret',
  'password',
  'passwd',
  'pwd',
  'sig',
  'credential',
  'auth',
];

/** `scheme://userinfo@`: the userinfo (everything up to `@`, no `/`, space or quote). */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@"'<>]+@/gi;

const SECRET_QUERY = new RegExp(
  `([?&][^=&\\s"'#]*(?:${SECRET_PARAMS.join('|')})[^=&\\s"'#]*=)[^&\\s"'#]+`,
  'gi',
);

/** An API key token (`jk_<key id>_<secret>`): the key id stays, it names the key. */
const API_KEY_SECRET = /\b(jk_[0-9a-f]{16}_)[A-Za-z0-9_-]{20,}/g;

/** `Bearer <token>` as an authorization value carries it (16+ token characters: not prose). */
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi;

export const REDACTED = '***';

/** `https://user:pass@host/p?token=t&x=1` → `https://***@host/p?token=***&x=1`. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/**
 * Masks secrets anywhere in `text` (a log line, an error message): URL
 * credentials, API key secrets and bearer tokens.
 */
export function redactSecrets(text: string): string {
  let out = text;
  // Each pattern runs only when its marker is present: most lines carry none.
  if (out.includes('://')) {
    if (out.includes('@')) out = out.replace(USERINFO, `$1${REDACTED}@`);
    if (out.includes('?')) out = out.replace(SECRET_QUERY, `$1${REDACTED}`);
  }
  if (out.includes('jk_')) out = out.replace(API_KEY_SECRET, `$1${REDACTED}`);
  if (out.includes('earer')) out = out.replace(BEARER, `$1${REDACTED}`);
  return out;
}

/** A deep copy of `value` with every string passed through `redactSecrets` (for the config line). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v)]),
    ) as T;
  }
  return value;
}
