/**
 * SPEC §6 bounds on admin fields, so that no caller can poison the store (a
 * 9 MiB description once made ListProducers fail for everyone, also after a
 * restart). Pure checks: each throws JackError('invalid_argument') naming
 * the field and its limit. The field name is a parameter so that update
 * RPCs can name their own paths (e.g. `producer.description`).
 */
import { JackError } from '../errors.js';

export const MAX_NAME_BYTES = 256;
export const MAX_DESCRIPTION_BYTES = 4096;
export const MAX_PRINCIPALS = 32;
export const MAX_PRINCIPAL_BYTES = 512;

/** UTF-8 byte length, without encoding strings that cannot be over `limit`. */
function overBytes(value: string, limit: number): boolean {
  // One UTF-16 unit is at most 3 UTF-8 bytes.
  return value.length * 3 > limit && Buffer.byteLength(value, 'utf8') > limit;
}

function maxBytes(field: string, value: string, limit: number): void {
  if (overBytes(value, limit)) {
    throw new JackError('invalid_argument', `${field} is longer than ${limit} bytes`);
  }
}

/** A producer's or job type's `name`: at most 256 bytes. */
export function checkName(value: string, field = 'name'): void {
  maxBytes(field, value, MAX_NAME_BYTES);
}

/** A producer's or job type's `description`: at most 4096 bytes. */
export function checkDescription(value: string, field = 'description'): void {
  maxBytes(field, value, MAX_DESCRIPTION_BYTES);
}

/** A producer's `principals`: at most 32 entries of at most 512 bytes each. */
export function checkPrincipals(values: readonly string[], field = 'principals'): void {
  if (values.length > MAX_PRINCIPALS) {
    throw new JackError(
      'invalid_argument',
      `${field} has ${values.length} entries, more than the limit of ${MAX_PRINCIPALS}`,
    );
  }
  values.forEach((value, i) => {
    maxBytes(`${field}[${i}]`, value, MAX_PRINCIPAL_BYTES);
  });
}

/** Every bounded field of a producer create or update. */
export function checkProducerFields(fields: {
  name?: string;
  description?: string;
  principals?: readonly string[];
}): void {
  if (fields.name !== undefined) checkName(fields.name);
  if (fields.description !== undefined) checkDescription(fields.description);
  if (fields.principals !== undefined) checkPrincipals(fields.principals);
}

/** Every bounded field of a job type create or update. */
export function checkJobTypeFields(fields: { name?: string; description?: string }): void {
  if (fields.name !== undefined) checkName(fields.name);
  if (fields.description !== undefined) checkDescription(fields.description);
}
