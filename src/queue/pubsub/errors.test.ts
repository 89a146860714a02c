import { describe, expect, it } from 'vitest';
import { JackError } from '../../errors.js';
import { classifyPubSubError } from './errors.js';

function grpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyPubSubError', () => {
  it.each([
    ['UNAVAILABLE', grpcError(14, '14 UNAVAILABLE: No connection established'), 'unavailable'],
    ['DEADLINE_EXCEEDED', grpcError(4, 'Total timeout of API exceeded'), 'unavailable'],
    ['refused socket without a code', new Error('connect ECONNREFUSED 127.0.0.1:1'), 'unavailable'],
    ['NOT_FOUND', grpcError(5, '5 NOT_FOUND: Topic not found'), 'internal'],
    ['PERMISSION_DENIED', grpcError(7, '7 PERMISSION_DENIED: denied'), 'internal'],
    ['INVALID_ARGUMENT', grpcError(3, '3 INVALID_ARGUMENT: bad'), 'internal'],
    ['a thrown string', 'boom', 'internal'],
  ])('%s → %s', (_name, err, code) => {
    const classified = classifyPubSubError(err, 'publish to t failed');
    expect(classified.code).toBe(code);
    expect(classified.message.startsWith('publish to t failed: ')).toBe(true);
  });

  it('keeps a JackError as it is', () => {
    const err = new JackError('unavailable', 'timed out');
    expect(classifyPubSubError(err, 'x')).toBe(err);
  });

  it('keeps only the first line of a multi-line message', () => {
    expect(classifyPubSubError(grpcError(13, 'one\ntwo'), 'x').message).toBe('x: one');
  });
});
