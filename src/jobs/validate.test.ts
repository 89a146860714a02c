import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import {
  MAX_ATTRIBUTE_BYTES,
  maxAttributeBytes,
  required,
  timestampInRange,
  withinAttributeLimit,
} from './validate.js';

describe('required', () => {
  it('refuses an empty value naming the field', () => {
    expect(() => required('job_type', '')).toThrow(
      new JackError('invalid_argument', 'job_type is required'),
    );
  });

  it.each([' ', '  ', '\t\n'])('refuses the blank value %j', (value) => {
    expect(() => required('producer_id', value)).toThrow(
      new JackError('invalid_argument', 'producer_id is required'),
    );
  });

  it.each(['x', '0', ' x '])('accepts %j', (value) => {
    expect(() => required('job_type', value)).not.toThrow();
  });
});

describe('attribute length limit', () => {
  it('is the Pub/Sub attribute limit of 1024 bytes', () => {
    expect(MAX_ATTRIBUTE_BYTES).toBe(1024);
  });

  // Each value is measured in UTF-8 bytes, not characters or UTF-16 units.
  it.each([
    { name: '1024 ASCII', value: 'a'.repeat(1024), bytes: 1024, ok: true },
    { name: '1025 ASCII', value: 'a'.repeat(1025), bytes: 1025, ok: false },
    { name: '512 × é (2 bytes)', value: 'é'.repeat(512), bytes: 1024, ok: true },
    { name: '513 × é (2 bytes)', value: 'é'.repeat(513), bytes: 1026, ok: false },
    { name: '341 × € (3 bytes)', value: '€'.repeat(341), bytes: 1023, ok: true },
    { name: '342 × € (3 bytes)', value: '€'.repeat(342), bytes: 1026, ok: false },
    { name: '341 × € + 1 ASCII', value: `${'€'.repeat(341)}a`, bytes: 1024, ok: true },
    { name: '341 × € + 2 ASCII', value: `${'€'.repeat(341)}aa`, bytes: 1025, ok: false },
    { name: '256 emoji (4 bytes)', value: '😀'.repeat(256), bytes: 1024, ok: true },
    { name: '257 emoji (4 bytes)', value: '😀'.repeat(257), bytes: 1028, ok: false },
    { name: 'empty', value: '', bytes: 0, ok: true },
  ])('$name: $bytes bytes → ok=$ok', ({ value, bytes, ok }) => {
    expect(Buffer.byteLength(value, 'utf8')).toBe(bytes);
    expect(withinAttributeLimit(value)).toBe(ok);
    if (ok) expect(() => maxAttributeBytes('trace_id', value)).not.toThrow();
    else
      expect(() => maxAttributeBytes('trace_id', value)).toThrow(
        new JackError(
          'invalid_argument',
          'trace_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
        ),
      );
  });
});

describe('timestampInRange', () => {
  it.each([
    { at: '0001-01-01T00:00:00.000Z', ok: true },
    { at: '9999-12-31T23:59:59.999Z', ok: true },
    { at: '1970-01-01T00:00:00.000Z', ok: true },
    { at: '0000-12-31T23:59:59.999Z', ok: false },
    { at: '+010000-01-01T00:00:00.000Z', ok: false },
    { at: 'not a date', ok: false },
  ])('$at → ok=$ok', ({ at, ok }) => {
    const check = () => timestampInRange('run_at', new Date(at));
    if (ok) expect(check).not.toThrow();
    else
      expect(check).toThrow(
        new JackError(
          'invalid_argument',
          'run_at is outside the range of a Timestamp (0001-01-01 to 9999-12-31 UTC)',
        ),
      );
  });
});
