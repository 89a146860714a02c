import { describe, expect, it } from 'vitest';
import { legacyPayloadPriority } from './legacy-routing.js';

/**
 * Expected values are what the Go service's `json.Unmarshal` into
 * `struct { Queue string \`json:"queue"\` }` decodes (encoding/json v1 rules:
 * case-insensitive key match, last matching key wins, null ignored, any
 * other non-string value or invalid JSON fails the whole decode).
 */
describe('legacyPayloadPriority', () => {
  it.each([
    ['{"queue":"immediate"}', 'immediate'],
    ['{"queue":"high"}', 'high'],
    ['{"queue":"medium"}', 'medium'],
    ['{"queue":"low"}', 'low'],
    ['{"id":7,"args":[1],"queue":"low","x":{"queue":"high"}}', 'low'],
    [' \n{ "queue" : "high" }\n', 'high'],
    ['{"queue":"hi\\u0067h"}', 'high'],
    ['{"q\\u0075eue":"low"}', 'low'],
    ['{"\\u0071ueue":"immediate"}', 'immediate'],
    ['{"note":"caf\\u00e9"}', undefined],
    // The value is matched exactly: only the key's case is ignored.
    ['{"queue":"HIGH"}', undefined],
    ['{"queue":"High"}', undefined],
    ['{"queue":" high"}', undefined],
    ['{"queue":"urgent"}', undefined],
    ['{"queue":""}', undefined],
    ['{"queue":1}', undefined],
    ['{"queue":true}', undefined],
    ['{"queue":{"name":"high"}}', undefined],
    ['{"queue":null}', undefined],
    ['{"queue":["high"]}', undefined],
    ['{"args":{"queue":"high"}}', undefined],
    ['[{"queue":"high"}]', undefined],
    ['"queue"', undefined],
    ['{"queue":"high"', undefined],
    ['queue=high', undefined],
    ['null', undefined],
    ['', undefined],
  ])('%j → %s', (payload, priority) => {
    expect(legacyPayloadPriority(Buffer.from(payload))).toBe(priority);
  });

  describe('matches the key in any letter case, as encoding/json does', () => {
    it.each([
      ['{"Queue":"high"}', 'high'],
      ['{"QUEUE":"low"}', 'low'],
      ['{"qUeUe":"immediate"}', 'immediate'],
      ['{"quEUE":"medium"}', 'medium'],
      ['{"\\u0051ueue":"high"}', 'high'],
      ['{"Q\\u0055EUE":"low"}', 'low'],
      ['{"args":[1,{"a":"}"}],"Queue":"high"}', 'high'],
      // Not the key: other words, prefixes, suffixes, non-ASCII look-alikes.
      ['{"Queues":"high"}', undefined],
      ['{"Que":"high"}', undefined],
      ['{"queue_name":"high"}', undefined],
      ['{"QUEUE ":"high"}', undefined],
      ['{"Ｑueue":"high"}', undefined],
    ])('%j → %s', (payload, priority) => {
      expect(legacyPayloadPriority(Buffer.from(payload))).toBe(priority);
    });
  });

  describe('when several keys match, the last one wins (golang/go#43664), exact spelling or not', () => {
    it.each([
      ['{"queue":"high","Queue":"low"}', 'low'],
      ['{"Queue":"high","queue":"low"}', 'low'],
      ['{"QUEUE":"immediate","Queue":"medium"}', 'medium'],
      // A duplicate of the exact spelling: last one wins too.
      ['{"queue":"high","queue":"low"}', 'low'],
      // Interleaved duplicates: document order counts, not first appearance.
      ['{"queue":"high","Queue":"low","queue":"medium"}', 'medium'],
      // The last match may name no priority: it still replaces the earlier one.
      ['{"queue":"high","Queue":"urgent"}', undefined],
      // null leaves the earlier value (Go ignores null for a string field).
      ['{"queue":"high","Queue":null}', 'high'],
      ['{"Queue":null,"queue":"low"}', 'low'],
      // Any other non-string match fails Unmarshal as a whole.
      ['{"queue":"high","Queue":2}', undefined],
      ['{"Queue":[],"queue":"high"}', undefined],
    ])('%j → %s', (payload, priority) => {
      expect(legacyPayloadPriority(Buffer.from(payload))).toBe(priority);
    });
  });

  it('skips the parse for a large payload without the key (pre-check)', () => {
    const payload = Buffer.from(JSON.stringify({ quiet: 'q'.repeat(1_000_000), Quay: 1 }));
    const parse = JSON.parse;
    let parses = 0;
    JSON.parse = (...args: Parameters<typeof parse>) => {
      parses++;
      return parse(...args);
    };
    try {
      expect(legacyPayloadPriority(payload)).toBeUndefined();
    } finally {
      JSON.parse = parse;
    }
    expect(parses).toBe(0);
  });
});
