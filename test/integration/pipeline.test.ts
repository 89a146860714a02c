/**
 * The call pipeline over a real socket: every call gets a request id (sent
 * back as `x-request-id`, and on the log line of a failed call), an
 * undecodable request is INVALID_ARGUMENT (grpc-js alone says INTERNAL).
 * Cancellation before publish is covered in src/jobs/enqueuer.test.ts.
 */
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  status,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { enqueueRequest, type RunningJack, startJack } from '../support/jack.js';

/** A raw client: sends the given bytes as the request of `path`. */
function rawClient(
  address: string,
  path: string,
): Client & {
  invoke(
    bytes: Buffer,
    md?: Metadata,
  ): Promise<{ code: number; details: string; header: Metadata }>;
} {
  const Ctor = makeGenericClientConstructor(
    {
      send: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Raw',
  );
  const client = new Ctor(address, credentials.createInsecure()) as unknown as Client & {
    send: (
      b: Buffer,
      md: Metadata,
      cb: (err: { code: number; details: string } | null) => void,
    ) => {
      on(event: 'metadata', fn: (md: Metadata) => void): void;
    };
  };
  return Object.assign(client, {
    invoke(bytes: Buffer, md = new Metadata()) {
      return new Promise<{ code: number; details: string; header: Metadata }>((resolve) => {
        let header = new Metadata();
        const call = client.send(bytes, md, (err) =>
          resolve({ code: err?.code ?? status.OK, details: err?.details ?? '', header }),
        );
        call.on('metadata', (m) => {
          header = m;
        });
      });
    },
  }) as never;
}

describe('call pipeline', () => {
  let jack: RunningJack;
  let enqueue: ReturnType<typeof rawClient>;
  let listProducers: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    jack = await startJack();
    enqueue = rawClient(jack.address, '/jack.BackgroundJobs/Enqueue');
    listProducers = rawClient(jack.address, '/jack.AdminService/ListProducers');
  });
  afterAll(async () => {
    enqueue.close();
    listProducers.close();
    await jack.close();
  });

  it('sends a fresh x-request-id on success and on failure, and logs the failure with it', async () => {
    const ok = await enqueue.invoke(
      Buffer.from(
        EnqueueRequest.encode(enqueueRequest({ producerId: 'p', jobType: 't' })).finish(),
      ),
    );
    expect(ok.code).toBe(status.OK);
    const okId = ok.header.get('x-request-id')[0];
    expect(okId).toMatch(/^[0-9a-f-]{36}$/);

    const bad = await enqueue.invoke(Buffer.from(EnqueueRequest.encode(enqueueRequest()).finish()));
    expect(bad).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'producer_id is required',
    });
    const badId = bad.header.get('x-request-id')[0];
    expect(badId).toMatch(/^[0-9a-f-]{36}$/);
    expect(badId).not.toBe(okId);
    const line = jack.logs.find((l) => l.msg === 'call failed' && l.requestId === badId);
    expect(line).toMatchObject({ method: 'Enqueue', code: 'INVALID_ARGUMENT' });
  });

  it('keeps a plain caller-supplied x-request-id and replaces one that is not', async () => {
    const md = new Metadata();
    md.set('x-request-id', 'trace-42.a:b');
    const kept = await listProducers.invoke(Buffer.alloc(0), md);
    expect(kept.header.get('x-request-id')).toEqual(['trace-42.a:b']);

    const hostile = new Metadata();
    hostile.set('x-request-id', `${'a'.repeat(200)} <script>`);
    const replaced = await listProducers.invoke(Buffer.alloc(0), hostile);
    expect(replaced.header.get('x-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['random bytes', Buffer.from('ffffffffffffffffffff', 'hex')],
    ['a truncated message', Buffer.from([0x0a, 0x10, 0x61])],
    ['a wrong wire type', Buffer.from([0x0b])],
  ])('answers INVALID_ARGUMENT, never INTERNAL, for %s', async (_name, bytes) => {
    const res = await enqueue.invoke(bytes);
    expect(res).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'the request is not a valid Enqueue request message',
    });
  });
});
