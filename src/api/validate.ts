/** Wire request → validated value, or JackError('invalid_argument'). Pure. */
import { JackError } from '../errors.js';

/** Pub/Sub's limit on one attribute value, bytes. */
export const MAX_ATTRIBUTE_BYTES = 1024;

export function required(field: string, value: string): void {
  if (value === '') throw new JackError('invalid_argument', `${field} is required`);
}

/** A string is at most 3 UTF-8 bytes per UTF-16 unit, so short strings skip the byte count. */
export function withinAttributeLimit(value: string): boolean {
  return (
    value.length * 3 <= MAX_ATTRIBUTE_BYTES ||
    Buffer.byteLength(value, 'utf8') <= MAX_ATTRIBUTE_BYTES
  );
}

export function maxAttributeBytes(field: string, value: string): void {
  if (!withinAttributeLimit(value)) {
    throw new JackError(
      'invalid_argument',
      `${field} is longer than ${MAX_ATTRIBUTE_BYTES} bytes (the Pub/Sub attribute limit)`,
    );
  }
}
