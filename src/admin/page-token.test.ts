import { describe, expect, it } from 'vitest';
import { isJackError } from '../errors.js';
import { decodePageToken, encodePageToken, type PageKey, paginate } from './page-token.js';

const INVALID =
  'page_token is not valid for this list: pass the next_page_token of the previous page unchanged, with the same other fields';

/** Records sorted by (t, id), as the store lists them. */
const records = Array.from({ length: 7 }, (_, i) => ({ t: 1000 + Math.floor(i / 2), id: `r${i}` }));
const keyOf = (r: { t: number; id: string }): PageKey => [r.t, r.id];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('page tokens', () => {
  it('round-trips a key within its scope', () => {
    const token = encodePageToken('producers', [1234, 'prod_aaaaaaaa']);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, 'producers')).toEqual([1234, 'prod_aaaaaaaa']);
  });

  const good = encodePageToken('producers', [1, 'a']);
  const [body, sum] = good.split('.') as [string, string];
  const forged = `${Buffer.from('{"s":"producers","k":[0,""]}').toString('base64url')}.${sum}`;
  it.each([
    ['random text', 'hello'],
    ['a truncated token', good.slice(0, -3)],
    ['an edited body', forged],
    ['a third part', `${good}.x`],
    ['not base64url', `${body}.${sum}!`],
    ['an empty checksum', `${body}.`],
    ['a huge token', 'A'.repeat(100_000)],
    // base64url decoding ignores a last character's spare bits: these
    // decoded to the very bytes of a good token.
    ['one more character', `${good}x`],
    ['a changed last character', `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`],
    ['a body with one more character', `${body}A.${sum}`],
  ])('refuses %s with INVALID_ARGUMENT', (_why, token) => {
    const err = thrown(() => decodePageToken(token, 'producers'));
    expect(isJackError(err, 'invalid_argument')).toBe(true);
    expect((err as Error).message).toBe(INVALID);
  });

  it('refuses a token of another list', () => {
    const token = encodePageToken('job_types/prod_aaaaaaaa', [0, 'send']);
    expect(() => decodePageToken(token, 'job_types/prod_bbbbbbbb')).toThrow(INVALID);
    expect(() => decodePageToken(token, 'producers')).toThrow(INVALID);
  });

  it('pages through every record once; page_size 0 returns everything', () => {
    expect(paginate(records, { pageSize: 0, pageToken: '' }, 's', keyOf)).toEqual({
      items: records,
      nextPageToken: '',
    });
    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = paginate(records, { pageSize: 3, pageToken }, 's', keyOf);
      seen.push(...page.items.map((r) => r.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== '');
    expect(seen).toEqual(records.map((r) => r.id));
    expect(pages).toBe(3);
  });

  it('an exactly full last page has no next token', () => {
    expect(
      paginate(records.slice(0, 6), { pageSize: 3, pageToken: '' }, 's', keyOf).nextPageToken,
    ).not.toBe('');
    const first = paginate(records.slice(0, 6), { pageSize: 3, pageToken: '' }, 's', keyOf);
    const second = paginate(
      records.slice(0, 6),
      { pageSize: 3, pageToken: first.nextPageToken },
      's',
      keyOf,
    );
    expect(second.nextPageToken).toBe('');
  });

  it('keeps pages stable while records are added and after the last record is deleted', () => {
    const first = paginate(records, { pageSize: 2, pageToken: '' }, 's', keyOf);
    // A record sorting before the cursor and one after it are added; the cursor's record is deleted.
    const changed = [
      { t: 1, id: 'early' },
      ...records.filter((r) => r.id !== 'r1'),
      { t: 9999, id: 'late' },
    ];
    const next = paginate(changed, { pageSize: 2, pageToken: first.nextPageToken }, 's', keyOf);
    expect(next.items.map((r) => r.id)).toEqual(['r2', 'r3']);
  });

  it('caps page_size at 1000 and refuses a negative one', () => {
    const many = Array.from({ length: 1500 }, (_, i) => ({ t: i, id: 'x' }));
    const page = paginate(many, { pageSize: 5000, pageToken: '' }, 's', keyOf);
    expect(page.items).toHaveLength(1000);
    expect(page.nextPageToken).not.toBe('');
    expect(() => paginate(many, { pageSize: -1, pageToken: '' }, 's', keyOf)).toThrow(
      'page_size must not be negative',
    );
  });
});
