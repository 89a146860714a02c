import { describe, expect, it } from 'vitest';
import { maskPaths } from './field-mask.js';

const rules = {
  record: 'Producer',
  updatable: ['name', 'description', 'rate_limit_rps', 'principals'] as const,
  fixed: ['producer_id', 'created_at', 'updated_at'],
};
const list = 'name, description, rate_limit_rps, principals';

describe('field masks', () => {
  it('returns the named updatable paths, a repeated path once', () => {
    expect([...maskPaths(['name', 'principals', 'name'], rules)]).toEqual(['name', 'principals']);
  });

  it.each([[undefined], [[]]])('refuses an absent or empty mask (%j)', (mask) => {
    expect(() => maskPaths(mask, rules)).toThrow(
      `update_mask is required: name the Producer fields to update (${list})`,
    );
  });

  it.each(['producer_id', 'created_at', 'updated_at'])('refuses the fixed field %s', (path) => {
    expect(() => maskPaths(['name', path], rules)).toThrow(
      `update_mask path "${path}" cannot be updated (updatable: ${list})`,
    );
  });

  it.each(['nme', '*', 'rateLimitRps', 'producer.name', ''])(
    'refuses the unknown path %j',
    (path) => {
      expect(() => maskPaths([path], rules)).toThrow(
        `update_mask path "${path}" is not an updatable field of Producer (updatable: ${list})`,
      );
    },
  );

  it('echoes at most 64 characters of a path', () => {
    expect(() => maskPaths(['x'.repeat(10_000)], rules)).toThrow(`"${'x'.repeat(64)}…"`);
  });
});
