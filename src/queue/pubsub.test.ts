import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { JackError } from '../errors.js';
import {
  classifyPubSubError,
  FlowLimiter,
  type PubSubBackendConfig,
  topicForPriority,
  topicResourceName,
} from './pubsub.js';

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

describe('topics', () => {
  const config = loadConfig({
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: 'proj',
    PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
    PUBSUB_TOPIC_HIGH: 'projects/other/topics/jobs-high',
  }).backend as PubSubBackendConfig;

  it('a priority without a topic uses the medium topic', () => {
    expect(topicForPriority(config, 'high')).toBe('projects/other/topics/jobs-high');
    expect(topicForPriority(config, 'immediate')).toBe('jobs-medium');
    expect(topicForPriority(config, 'low')).toBe('jobs-medium');
  });

  it('short names get the project, full names are kept', () => {
    expect(topicResourceName('proj', 'jobs-medium')).toBe('projects/proj/topics/jobs-medium');
    expect(topicResourceName('proj', 'projects/other/topics/t')).toBe('projects/other/topics/t');
  });
});

describe('FlowLimiter (publisher flow control)', () => {
  /** Acquires and records when the message is admitted. */
  function acquire(limiter: FlowLimiter, bytes: number, admitted: string[], name: string) {
    const waiting = limiter.acquire(bytes);
    if (waiting === undefined) admitted.push(name);
    else void waiting.admitted.then(() => admitted.push(name));
    return waiting;
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('admits up to the message limit, then queues in order until room is released', async () => {
    const limiter = new FlowLimiter(2, 1_000_000);
    const admitted: string[] = [];
    acquire(limiter, 10, admitted, 'a');
    acquire(limiter, 10, admitted, 'b');
    acquire(limiter, 10, admitted, 'c');
    acquire(limiter, 10, admitted, 'd');
    await settle();
    expect(admitted).toEqual(['a', 'b']);
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'b', 'c']);
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'b', 'c', 'd']);
  });

  it('bounds bytes in flight, but lets one oversized message through alone', async () => {
    const limiter = new FlowLimiter(100, 100);
    const admitted: string[] = [];
    acquire(limiter, 60, admitted, 'a');
    acquire(limiter, 60, admitted, 'b');
    await settle();
    expect(admitted).toEqual(['a']);
    limiter.release(60);
    await settle();
    expect(admitted).toEqual(['a', 'b']);
    limiter.release(60);
    acquire(limiter, 500, admitted, 'huge');
    await settle();
    expect(admitted).toEqual(['a', 'b', 'huge']);
  });

  it('never admits a waiter that was cancelled (its caller was already told UNAVAILABLE)', async () => {
    const limiter = new FlowLimiter(1, 1_000_000);
    const admitted: string[] = [];
    acquire(limiter, 10, admitted, 'a');
    const timedOut = acquire(limiter, 10, admitted, 'timed-out');
    acquire(limiter, 10, admitted, 'next');
    timedOut?.cancel();
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'next']);
  });
});
