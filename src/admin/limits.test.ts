import { describe, expect, it } from 'vitest';
import {
  checkDescription,
  checkJobTypeFields,
  checkName,
  checkPrincipals,
  checkProducerFields,
  MAX_DESCRIPTION_BYTES,
  MAX_NAME_BYTES,
  MAX_PRINCIPAL_BYTES,
  MAX_PRINCIPALS,
} from './limits.js';

const invalid = (message: RegExp) =>
  expect.objectContaining({ code: 'invalid_argument', message: expect.stringMatching(message) });

describe('admin field limits (SPEC §6)', () => {
  it('has the limits of the SPEC', () => {
    expect([MAX_NAME_BYTES, MAX_DESCRIPTION_BYTES, MAX_PRINCIPALS, MAX_PRINCIPAL_BYTES]).toEqual([
      256, 4096, 32, 512,
    ]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(() => checkName('a'.repeat(256))).not.toThrow();
    expect(() => checkName('a'.repeat(257))).toThrow(invalid(/^name is longer than 256 bytes$/));
    // 'é' is 2 bytes: 129 of them are 258 bytes.
    expect(() => checkName('é'.repeat(128))).not.toThrow();
    expect(() => checkName('é'.repeat(129))).toThrow(invalid(/name .*256 bytes/));
  });

  it('bounds description at 4096 bytes and names the given field', () => {
    expect(() => checkDescription('d'.repeat(4096))).not.toThrow();
    expect(() => checkDescription('d'.repeat(4097))).toThrow(
      invalid(/^description is longer than 4096 bytes$/),
    );
    expect(() => checkDescription('d'.repeat(4097), 'producer.description')).toThrow(
      invalid(/^producer\.description is longer/),
    );
  });

  it('bounds principals in count and size', () => {
    expect(() => checkPrincipals(Array.from({ length: 32 }, () => 'p'.repeat(512)))).not.toThrow();
    expect(() => checkPrincipals(Array.from({ length: 33 }, () => 'p'))).toThrow(
      invalid(/^principals has 33 entries, more than the limit of 32$/),
    );
    expect(() => checkPrincipals(['ok', 'p'.repeat(513)])).toThrow(
      invalid(/^principals\[1\] is longer than 512 bytes$/),
    );
  });

  it('checks every given field of a producer or job type and ignores absent ones', () => {
    expect(() => checkProducerFields({})).not.toThrow();
    expect(() => checkProducerFields({ name: 'n', description: 'x'.repeat(5000) })).toThrow(
      invalid(/^description/),
    );
    expect(() => checkProducerFields({ principals: ['x'.repeat(600)] })).toThrow(
      invalid(/^principals\[0\]/),
    );
    expect(() => checkJobTypeFields({ name: 'n'.repeat(300) })).toThrow(invalid(/^name/));
  });
});
