import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { internalContext } from '../context.js';
import { type ErrorCode, JackError } from '../errors.js';
import { Status } from '../gen/google/rpc/status.js';
import {
  callStatus,
  decodeRetryDelayMs,
  MAX_DETAILS_BYTES,
  STATUS_DETAILS_KEY,
  statusName,
  toStatus,
} from './status.js';

describe('callStatus', () => {
  it('maps the error of a call once, however many layers ask', () => {
    const ctx = internalContext();
    const err = new JackError('resource_exhausted', 'slow down', { retryDelayMs: 250 });
    const first = callStatus(ctx, err);
    expect(callStatus(ctx, err)).toBe(first);
    // Another error (a layer replaced it) or another call is mapped anew.
    const other = new JackError('internal', 'boom');
    expect(callStatus(ctx, other)).toEqual({ code: status.INTERNAL, details: 'boom' });
    expect(callStatus(internalContext(), err)).not.toBe(first);
    expect(callStatus(internalContext(), err)).toEqual(first);
  });
});

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

describe('toStatus with a retry delay', () => {
  it('sends a google.rpc.Status with a RetryInfo in grpc-status-details-bin', () => {
    const err = new JackError(
      'resource_exhausted',
      'rate limit exceeded for producer p (20 jobs/s)',
      {
        retryDelayMs: 1250.2,
      },
    );
    const result = toStatus(err);
    expect(result.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(result.details).toBe('rate limit exceeded for producer p (20 jobs/s)');
    const [bin] = result.metadata?.get(STATUS_DETAILS_KEY) ?? [];
    expect(Buffer.isBuffer(bin)).toBe(true);
    const decoded = Status.decode(bin as Buffer);
    expect(decoded.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(decoded.message).toBe(result.details);
    expect(decoded.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.RetryInfo');
    expect(decodeRetryDelayMs(bin as Buffer)).toBe(1251);
  });

  it('sends no trailer metadata for an error without a delay', () => {
    expect(toStatus(new JackError('resource_exhausted', 'full')).metadata).toBeUndefined();
  });
});

describe('toStatus bounds the message', () => {
  const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

  it('keeps a message of MAX_DETAILS_BYTES whole and cuts a longer one with …', () => {
    const exact = 'x'.repeat(MAX_DETAILS_BYTES);
    expect(toStatus(new JackError('not_found', exact)).details).toBe(exact);
    const cut = toStatus(new JackError('not_found', `producer not found: ${'p'.repeat(100_000)}`));
    expect(bytes(cut.details)).toBe(MAX_DETAILS_BYTES);
    expect(cut.details).toMatch(/^producer not found: p+…$/);
  });

  it('counts UTF-8 bytes and never splits a code point', () => {
    for (const [text, unit] of [
      ['é'.repeat(1000), 'é'],
      ['€'.repeat(1000), '€'],
      ['😀'.repeat(1000), '😀'],
      [`a${'😀'.repeat(1000)}`, '😀'],
    ] as const) {
      const details = toStatus(new JackError('not_found', text)).details;
      expect(bytes(details)).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
      expect(bytes(details)).toBeGreaterThan(MAX_DETAILS_BYTES - 8);
      // A lone surrogate would not survive a UTF-8 round trip.
      expect(Buffer.from(details, 'utf8').toString('utf8')).toBe(details);
      expect(details.endsWith(`${unit}…`)).toBe(true);
    }
  });

  it('repeats the cut message in the RetryInfo status', () => {
    const limited = toStatus(
      new JackError('resource_exhausted', 'r'.repeat(5000), { retryDelayMs: 10 }),
    );
    expect(bytes(limited.details)).toBe(MAX_DETAILS_BYTES);
    const [bin] = limited.metadata?.get(STATUS_DETAILS_KEY) ?? [];
    expect(Status.decode(bin as Buffer).message).toBe(limited.details);
  });
});
