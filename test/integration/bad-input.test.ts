/**
 * SPEC §6 bad input over a real socket, as raw bytes (a grpc-js client whose
 * serializer passes bytes through): invalid UTF-8 in any string field, a
 * Timestamp whose seconds do not fit, truncated and random messages are
 * INVALID_ARGUMENT (naming the field where there is one), never INTERNAL.
 */
import { Client, credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningJack, startJack } from '../support/jack.js';

const ENQUEUE = '/jack.BackgroundJobs/Enqueue';
const ENQUEUE_BULK = '/jack.BackgroundJobs/EnqueueBulk';
const CREATE_PRODUCER = '/jack.AdminService/CreateProducer';

/** Invalid UTF-8: a lone continuation byte and an overlong encoding. */
const BAD = Buffer.from([0x61, 0x80, 0xc0, 0xaf]);

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v > 0x7fn) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}
/** A length-delimited field (strings, bytes, messages). */
const field = (number: number, value: Buffer | string) => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint(BigInt((number << 3) | 2)), varint(BigInt(bytes.length)), bytes]);
};
/** An EnqueueRequest of valid strings, with `overrides` (field number → bytes) in their place. */
const enqueueBytes = (overrides: Record<number, Buffer> = {}) => {
  const strings: Record<number, Buffer | string> = {
    1: 'prod_00000001',
    2: 'resize',
    5: 'trace',
    6: 'corr',
    7: 'key',
    ...overrides,
  };
  return Buffer.concat(Object.entries(strings).map(([n, v]) => field(Number(n), v)));
};

describe('bad input (raw bytes over a socket)', () => {
  let jack: RunningJack;
  let client: Client;
  const invoke = (path: string, bytes: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) => {
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        { deadline: Date.now() + 10_000 },
        (err) => resolve({ code: err?.code ?? status.OK, details: err?.details ?? '' }),
      );
    });

  beforeAll(async () => {
    jack = await startJack();
    client = new Client(jack.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await jack.close();
  });

  it.each([
    [1, 'producer_id'],
    [2, 'job_type'],
    [5, 'trace_id'],
    [6, 'correlation_id'],
    [7, 'idempotency_key'],
  ])('Enqueue: invalid UTF-8 in field %i → INVALID_ARGUMENT naming %s', async (number, name) => {
    expect(await invoke(ENQUEUE, enqueueBytes({ [number]: BAD }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: `${name} is not valid UTF-8`,
    });
  });

  it('a producer id of blanks is refused alike by Enqueue and the admin API', async () => {
    const blank = Buffer.from('  ');
    expect(await invoke(ENQUEUE, enqueueBytes({ 1: blank }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'producer_id is required',
    });
    expect(await invoke('/jack.AdminService/GetProducer', field(1, blank))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'producer_id is required',
    });
  });

  it('EnqueueBulk: names the job and the field', async () => {
    const jobs = Buffer.concat([field(1, enqueueBytes()), field(1, enqueueBytes({ 2: BAD }))]);
    expect(await invoke(ENQUEUE_BULK, jobs)).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'jobs[1].job_type is not valid UTF-8',
    });
  });

  it('CreateProducer: invalid UTF-8 in name or description; nothing is stored', async () => {
    expect(await invoke(CREATE_PRODUCER, field(1, BAD))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'name is not valid UTF-8',
    });
    expect(await invoke(CREATE_PRODUCER, Buffer.concat([field(1, 'ok'), field(2, BAD)]))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'description is not valid UTF-8',
    });
    expect(jack.app.store.listProducers()).toEqual([]);
  });

  it('UpdateProducer: names nested fields, repeated ones with their index', async () => {
    const update = '/jack.AdminService/UpdateProducer';
    const producer = (fields: Buffer) => field(1, fields);
    expect(
      await invoke(
        update,
        producer(Buffer.concat([field(1, 'prod_00000001'), field(7, 'ok'), field(7, BAD)])),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'producer.principals[1] is not valid UTF-8',
    });
    expect(
      await invoke(
        update,
        Buffer.concat([producer(field(1, 'prod_00000001')), field(2, field(1, BAD))]),
      ),
    ).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'update_mask.paths[0] is not valid UTF-8',
    });
  });

  it('accepts a real U+FFFD (valid UTF-8 EF BF BD) as any other character', async () => {
    const result = await invoke(CREATE_PRODUCER, field(1, 'ok \uFFFD'));
    expect(result.code).toBe(status.OK);
  });

  it.each([
    ['INT64_MAX', 9_223_372_036_854_775_807n],
    ['INT64_MIN', -9_223_372_036_854_775_808n],
    ['2^53', 2n ** 53n],
  ])('a run_at with seconds = %s is INVALID_ARGUMENT, not INTERNAL', async (_, seconds) => {
    const timestamp = Buffer.concat([varint(8n), varint(seconds)]);
    const result = await invoke(ENQUEUE, Buffer.concat([enqueueBytes(), field(4, timestamp)]));
    expect(result.code).toBe(status.INVALID_ARGUMENT);
  });

  it('a truncated message is INVALID_ARGUMENT', async () => {
    const whole = enqueueBytes();
    const result = await invoke(ENQUEUE, whole.subarray(0, whole.length - 3));
    expect(result).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'the request is not a valid Enqueue request message',
    });
  });

  it('random bytes to every method never answer INTERNAL or UNKNOWN', async () => {
    const methods = [
      ENQUEUE,
      ENQUEUE_BULK,
      '/jack.BackgroundJobs/CancelJob',
      CREATE_PRODUCER,
      '/jack.AdminService/GetProducer',
      '/jack.AdminService/ListProducers',
      '/jack.AdminService/CreateJobType',
      '/jack.AdminService/ListJobTypes',
    ];
    // Deterministic "random" bytes (xorshift), so a failure can be replayed.
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const codes = new Map<number, number>();
    for (const method of methods) {
      for (let i = 0; i < 40; i++) {
        const bytes = Buffer.from(Array.from({ length: 1 + (next() % 64) }, () => next() & 0xff));
        const { code, details } = await invoke(method, bytes);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect({ method, code, details }).not.toMatchObject({ code: status.INTERNAL });
        expect({ method, code, details }).not.toMatchObject({ code: status.UNKNOWN });
      }
    }
    expect(codes.get(status.INVALID_ARGUMENT)).toBeGreaterThan(0);
  });
});
