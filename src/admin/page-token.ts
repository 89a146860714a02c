/**
 * Keyset pagination for the list RPCs (SPEC §10). A page token names the
 * sort key of the last record of the previous page; the next page starts
 * after that key, so records added meanwhile never shift or repeat a page,
 * and a record deleted meanwhile does not break the token.
 *
 * Tokens must work on every replica, which share no secret, so they are
 * self-validating rather than signed: base64url(JSON) + "." + a truncated
 * SHA-256 of a fixed label and the JSON. A token Jack did not issue (random
 * text, a truncated or edited token, one of another list or another
 * producer's list) fails the check → INVALID_ARGUMENT, never a crash. A
 * token crafted on purpose with a valid checksum only names a position in
 * the sort order; it cannot produce a wrong page or reveal anything.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { JackError } from '../errors.js';

/** The cap of page_size (SPEC §10). */
export const MAX_PAGE_SIZE = 1000;
/** Longer than any token Jack issues (keys are bounded by the §6 limits). */
const MAX_TOKEN_CHARS = 2048;
const LABEL = 'jack.page_token.v1\u0000';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A position in a list's sort order: (created_at ms, id) or (0, name). */
export type PageKey = readonly [number, string];

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

const checksum = (json: string) =>
  createHash('sha256').update(LABEL).update(json).digest().subarray(0, 12);

export function encodePageToken(scope: string, key: PageKey): string {
  const json = JSON.stringify({ s: scope, k: key });
  return `${Buffer.from(json).toString('base64url')}.${checksum(json).toString('base64url')}`;
}

const invalid = () =>
  new JackError(
    'invalid_argument',
    'page_token is not valid for this list: pass the next_page_token of the previous page unchanged, with the same other fields',
  );

/** The key a token names, if Jack issued it for `scope`; INVALID_ARGUMENT otherwise. */
export function decodePageToken(token: string, scope: string): PageKey {
  if (token.length > MAX_TOKEN_CHARS) throw invalid();
  const [body, sum, extra] = token.split('.');
  if (body === undefined || sum === undefined || extra !== undefined) throw invalid();
  if (!BASE64URL.test(body) || !BASE64URL.test(sum)) throw invalid();
  const json = Buffer.from(body, 'base64url').toString('utf8');
  // The text is compared, not the decoded bytes: base64url decoding ignores
  // a trailing character's spare bits, so an edited token (one more
  // character, a changed last one) would decode to the same checksum.
  const given = Buffer.from(`${body}.${sum}`);
  const expected = Buffer.from(
    `${Buffer.from(json).toString('base64url')}.${checksum(json).toString('base64url')}`,
  );
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid();
  }
  const { s, k } = (parsed ?? {}) as { s?: unknown; k?: unknown };
  if (s !== scope || !Array.isArray(k) || k.length !== 2) throw invalid();
  const [t, id] = k as unknown[];
  if (typeof t !== 'number' || !Number.isFinite(t) || typeof id !== 'string') throw invalid();
  return [t, id];
}

export function compareKeys(a: PageKey, b: PageKey): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

/**
 * One page of `records`, which are sorted by `keyOf` ascending. page_size 0
 * = every (remaining) record; negative → INVALID_ARGUMENT; above 1000 → 1000.
 */
export function paginate<T>(
  records: readonly T[],
  request: PageRequest,
  scope: string,
  keyOf: (record: T) => PageKey,
): Page<T> {
  if (request.pageSize < 0) {
    throw new JackError('invalid_argument', 'page_size must not be negative');
  }
  let start = 0;
  if (request.pageToken !== '') {
    const after = decodePageToken(request.pageToken, scope);
    start = records.findIndex((r) => compareKeys(keyOf(r), after) > 0);
    if (start === -1) start = records.length;
  }
  const size = request.pageSize === 0 ? records.length : Math.min(request.pageSize, MAX_PAGE_SIZE);
  const items = records.slice(start, start + size);
  const last = items[items.length - 1];
  const more = start + items.length < records.length;
  return {
    items,
    nextPageToken: more && last !== undefined ? encodePageToken(scope, keyOf(last)) : '',
  };
}
