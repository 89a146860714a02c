/**
 * The typed client against a tiny grpc-js server (test/support/fake-jack.ts)
 * that fails on demand: which codes are retried, how long it waits
 * (RetryInfo, full jitter, the deadline), and that every attempt of one
 * enqueue carries the same idempotency key.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeJack, startFakeJack } from '../../test/support/fake-jack.js';
import { createJackClient, type JackClient, JackClientError, Queue } from './index.js';
import { backoffMs, DEFAULT_RETRY } from './retry.js';

let fake: FakeJack;
let client: JackClient;
beforeEach(async () => {
  fake = await startFakeJack();
  client = createJackClient({
    addr: fake.address,
    token: 'jk_secret',
    retry: { initialBackoffMs: 5, maxBackoffMs: 50 },
  });
});
afterEach(async () => {
  client.close();
  await fake.close();
});

async function rejection(promise: Promise<unknown>): Promise<JackClientError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JackClientError);
  return err as JackClientError;
}

describe('retries', () => {
  for (const code of [status.UNAVAILABLE, status.ABORTED, status.RESOURCE_EXHAUSTED]) {
    it(`retries ${status[code]} and sends one idempotency key on every attempt`, async () => {
      fake.fail('enqueue', { code }, { code });
      const res = await client.enqueue({ producerId: 'prod_a', jobType: 't' });
      expect(res.jobId).toBe('pjob_fake3');
      const keys = fake.callsOf('enqueue').map((c) => c.request.idempotencyKey);
      expect(keys).toHaveLength(3);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(keys).size).toBe(1);
    });
  }

  it('generates a new key per logical enqueue and keeps a caller-given one', async () => {
    await client.enqueue({ producerId: 'p', jobType: 't' });
    await client.enqueue({ producerId: 'p', jobType: 't' });
    fake.fail('enqueue', { code: status.UNAVAILABLE });
    await client.enqueue({ producerId: 'p', jobType: 't', idempotencyKey: 'mine' });
    const keys = fake.callsOf('enqueue').map((c) => c.request.idempotencyKey);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys.slice(2)).toEqual(['mine', 'mine']);
  });

  it('gives every job of a bulk call its own key, the same on each retry', async () => {
    fake.fail('enqueueBulk', { code: status.UNAVAILABLE });
    await client.enqueueBulk({ jobs: [{ producerId: 'p', jobType: 'a' }, { producerId: 'p' }] });
    const [first, second] = fake
      .callsOf('enqueueBulk')
      .map((c) => c.request.jobs.map((j: { idempotencyKey: string }) => j.idempotencyKey));
    expect(first).toHaveLength(2);
    expect(first?.[0]).not.toBe(first?.[1]);
    expect(second).toEqual(first);
  });

  for (const code of [
    status.INVALID_ARGUMENT,
    status.NOT_FOUND,
    status.ALREADY_EXISTS,
    status.PERMISSION_DENIED,
    status.UNAUTHENTICATED,
    status.FAILED_PRECONDITION,
    status.INTERNAL,
    status.UNKNOWN,
    status.UNIMPLEMENTED,
  ]) {
    it(`does not retry ${status[code]}`, async () => {
      fake.fail('createProducer', { code, details: 'no' });
      const err = await rejection(client.createProducer({ name: 'x' }));
      expect([err.code, err.codeName, err.details, err.attempts]).toEqual([
        code,
        status[code].toLowerCase(),
        'no',
        1,
      ]);
      expect(fake.callsOf('createProducer')).toHaveLength(1);
    });
  }

  it('stops after maxAttempts with the last error', async () => {
    fake.fail('enqueue', ...Array(5).fill({ code: status.UNAVAILABLE, details: 'down' }));
    const err = await rejection(client.enqueue({ producerId: 'p', jobType: 't' }));
    expect([err.codeName, err.details, err.attempts]).toEqual(['unavailable', 'down', 5]);
    expect(fake.callsOf('enqueue')).toHaveLength(DEFAULT_RETRY.maxAttempts);
  });

  it('waits the RetryInfo delay the server asked for', async () => {
    fake.fail('enqueue', { code: status.RESOURCE_EXHAUSTED, retryDelayMs: 400 });
    const slow = createJackClient({
      addr: fake.address,
      retry: { initialBackoffMs: 1, maxBackoffMs: 5_000 },
    });
    try {
      await slow.enqueue({ producerId: 'p', jobType: 't' });
    } finally {
      slow.close();
    }
    const [first, second] = fake.callsOf('enqueue');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(390);
  });

  it('without RetryInfo waits at most its own (small) backoff', async () => {
    fake.fail('enqueue', { code: status.RESOURCE_EXHAUSTED });
    await client.enqueue({ producerId: 'p', jobType: 't' });
    const [first, second] = fake.callsOf('enqueue');
    expect(second!.at - first!.at).toBeLessThan(300);
  });

  it('does not retry past the deadline: a RetryInfo beyond it ends the call at once', async () => {
    fake.fail('enqueue', { code: status.UNAVAILABLE, retryDelayMs: 2_000 });
    const started = Date.now();
    const err = await rejection(
      createJackClient({ addr: fake.address, retry: { maxBackoffMs: 10_000 } }).enqueue(
        { producerId: 'p', jobType: 't' },
        { deadlineMs: 500 },
      ),
    );
    expect(err.codeName).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(450);
    expect(fake.callsOf('enqueue')).toHaveLength(1);
  });

  it('ends a call that the server does not answer at the deadline', async () => {
    fake.fail('enqueue', { code: status.OK, delayMs: 2_000 });
    const started = Date.now();
    const err = await rejection(
      client.enqueue({ producerId: 'p', jobType: 't' }, { deadlineMs: 300 }),
    );
    expect(err.codeName).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('an aborted signal ends the call and its pending retries', async () => {
    fake.fail('enqueue', { code: status.UNAVAILABLE, retryDelayMs: 2_000 });
    const slow = createJackClient({ addr: fake.address, retry: { maxBackoffMs: 10_000 } });
    const controller = new AbortController();
    const started = Date.now();
    const call = slow.enqueue({ producerId: 'p', jobType: 't' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const err = await rejection(call);
    slow.close();
    expect(err.codeName).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(fake.callsOf('enqueue')).toHaveLength(1);
    await rejection(client.enqueue({}, { signal: AbortSignal.abort() }));
    expect(fake.callsOf('enqueue')).toHaveLength(1);
  });

  it('retry: false sends once', async () => {
    fake.fail('enqueue', { code: status.UNAVAILABLE });
    await rejection(client.enqueue({ producerId: 'p', jobType: 't' }, { retry: false }));
    expect(fake.callsOf('enqueue')).toHaveLength(1);
  });
});

describe('backoff', () => {
  it('is full jitter below an exponentially growing, capped bound', () => {
    const policy = { ...DEFAULT_RETRY, initialBackoffMs: 100, maxBackoffMs: 1_000 };
    expect(backoffMs(1, policy, undefined, () => 0.999)).toBe(99);
    expect(backoffMs(3, policy, undefined, () => 0.999)).toBe(399);
    expect(backoffMs(9, policy, undefined, () => 0.999)).toBe(999);
    expect(backoffMs(3, policy, undefined, () => 0)).toBe(0);
    expect(backoffMs(1, policy, 5_000)).toBe(1_000);
    expect(backoffMs(1, policy, 250)).toBe(250);
  });
});

describe('requests and metadata', () => {
  it('sends the token as a bearer credential and shadow as metadata', async () => {
    await client.enqueue({ producerId: 'p', jobType: 't' }, { shadow: true });
    const [call] = fake.callsOf('enqueue');
    expect(call?.metadata.get('authorization')).toEqual(['Bearer jk_secret']);
    expect(call?.metadata.get('shadow')).toEqual(['true']);
  });

  it('refuses a token that cannot be a header value, without showing it', () => {
    for (const token of ['jk_secret\n', 'jk_se cret', 'jk_sécret']) {
      let error: unknown;
      try {
        createJackClient({ addr: fake.address, token });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(JackClientError);
      expect((error as JackClientError).codeName).toBe('invalid_argument');
      expect((error as JackClientError).message).not.toContain('secret');
    }
  });

  it('fills what a partial request leaves out, nested messages included', async () => {
    const res = await client.updateProducer({
      producer: { producerId: 'prod_1', rateLimitRps: 5 },
      updateMask: ['rate_limit_rps'],
    });
    const [call] = fake.callsOf('updateProducer');
    expect(call?.request.producer).toMatchObject({
      producerId: 'prod_1',
      name: '',
      rateLimitRps: 5,
    });
    expect(call?.request.updateMask).toEqual(['rate_limit_rps']);
    expect(res.producer?.rateLimitRps).toBe(5);
    const jobType = await client.getJobType({ producerId: 'prod_1', name: 'n' });
    expect(jobType.jobType?.queue).toBe(Queue.QUEUE_HIGH);
  });

  it('checks health of the server and each service', async () => {
    expect(await client.check()).toEqual({ status: 'SERVING' });
    expect(await client.check('jack.AdminService')).toEqual({ status: 'NOT_SERVING' });
    expect((await rejection(client.check('nope'))).codeName).toBe('not_found');
  });

  it('fails every call after close()', async () => {
    client.close();
    await rejection(client.enqueue({ producerId: 'p', jobType: 't' }, { retry: false }));
  });
});
