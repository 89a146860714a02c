import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, JackError } from '../errors.js';
import { statusName, toStatus } from './status.js';

describe('toStatus', () => {
  it.each<[ErrorCode, status]>([
    ['invalid_argument', status.INVALID_ARGUMENT],
    ['not_found', status.NOT_FOUND],
    ['already_exists', status.ALREADY_EXISTS],
    ['failed_precondition', status.FAILED_PRECONDITION],
    ['aborted', status.ABORTED],
    ['resource_exhausted', status.RESOURCE_EXHAUSTED],
    ['unavailable', status.UNAVAILABLE],
    ['deadline_exceeded', status.DEADLINE_EXCEEDED],
    ['cancelled', status.CANCELLED],
    ['internal', status.INTERNAL],
  ])('maps JackError %s to %s, keeping its message', (code, grpcCode) => {
    expect(toStatus(new JackError(code, `why ${code}`))).toEqual({
      code: grpcCode,
      details: `why ${code}`,
    });
  });

  it('maps an AbortError to CANCELLED', () => {
    const abort = new Error('This operation was aborted');
    abort.name = 'AbortError';
    expect(toStatus(abort)).toEqual({ code: status.CANCELLED, details: 'the call was cancelled' });
  });

  it.each([
    ['a plain Error', new Error('secret connection string in here')],
    ['a TypeError', new TypeError('x is undefined')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
  ])('maps %s to UNKNOWN without leaking its message', (_, err) => {
    expect(toStatus(err)).toEqual({
      code: status.UNKNOWN,
      details: 'unexpected server error (logged)',
    });
  });
});

describe('statusName', () => {
  it.each([
    [status.OK, 'OK'],
    [status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    [status.UNAVAILABLE, 'UNAVAILABLE'],
    [status.RESOURCE_EXHAUSTED, 'RESOURCE_EXHAUSTED'],
    [99 as status, '99'],
  ])('%i → %s', (code, name) => {
    expect(statusName(code)).toBe(name);
  });
});
