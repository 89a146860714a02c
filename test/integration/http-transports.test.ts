/**
 * One call pipeline for every transport (SPEC §18): one table of cases —
 * Enqueue and EnqueueBulk rules, admin calls, auth, idempotency, rate
 * limits, size caps, request ids, trace context, metrics — run against ONE
 * real Jack over gRPC (its gRPC port), Connect JSON over HTTP/1.1, Connect
 * binary over h2c and gRPC-Web, each through the real clients of
 * `@connectrpc/connect-node`. Every case must give the same code, the same
 * message and the same answer on every transport.
 */
import { randomBytes } from 'node:crypto';
import { type Client, Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryInfoSchema } from '../../src/gen-es/google/rpc/error_details_pb.js';
import { AdminService } from '../../src/gen-es/jack/admin_pb.js';
import { BackgroundJobs } from '../../src/gen-es/jack/jack_pb.js';
import { Jobs } from '../../src/gen-es/jack/jobs_pb.js';
import { Queue } from '../../src/gen-es/jack/storage_pb.js';
import { registerProducer } from '../support/admission.js';
import { type RunningJack, startJack } from '../support/jack.js';

const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const MAX_RECEIVE = 64 * 1024;
const MAX_PAYLOAD = 16 * 1024;

interface Clients {
  jobs: Client<typeof BackgroundJobs>;
  admin: Client<typeof AdminService>;
  ledger: Client<typeof Jobs>;
}

/** What a call came to, with what differs by nature (job ids) written as placeholders. */
interface Outcome {
  code: string;
  message: string;
  answer?: unknown;
}

interface Fixture {
  producer: string;
  other: string;
  limited: string;
  producerKey: string;
}

const admin = { authorization: `Bearer ${BOOTSTRAP}` };
const JOB_ID = /pjob_[0-9A-Za-z]+/g;
const JSON_SAFE = (value: unknown) =>
  JSON.parse(
    JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)).replace(
      JOB_ID,
      'pjob_…',
    ),
  ) as unknown;

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { code: Code[0] ?? 'OK', message: '', answer: JSON_SAFE(await run()) };
  } catch (err) {
    const e = ConnectError.from(err);
    return {
      code: Code[e.code] ?? String(e.code),
      message: e.rawMessage.replace(JOB_ID, 'pjob_…'),
    };
  }
}

/** One row: a call and what it must come to on every transport. */
interface Case {
  name: string;
  run(c: Clients, f: Fixture, transport: string): Promise<Outcome>;
  expected: Partial<Outcome> & { answerLike?: unknown };
  /**
   * False only where the transport library answers before Jack reads the
   * request (a message over GRPC_MAX_RECEIVE_BYTES: grpc-js and Connect each
   * refuse it with RESOURCE_EXHAUSTED in words of their own, and never
   * buffer it): the code is still the same.
   */
  sameMessage?: false;
}

const enqueue = (c: Clients, fields: Record<string, unknown>, headers = admin) =>
  c.jobs.enqueue({ payload: new Uint8Array(), ...fields }, { headers });

const CASES: Case[] = [
  {
    name: 'Enqueue of a registered job type: OK with a job id',
    run: (c, f) => outcome(() => enqueue(c, { producerId: f.producer, jobType: 'mail' })),
    expected: { code: 'OK', answerLike: { jobId: 'pjob_…' } },
  },
  {
    name: 'Enqueue without producer_id: INVALID_ARGUMENT',
    run: (c) => outcome(() => enqueue(c, { producerId: '', jobType: 'mail' })),
    expected: { code: 'InvalidArgument', message: 'producer_id is required' },
  },
  {
    name: 'Enqueue without job_type: INVALID_ARGUMENT',
    run: (c, f) => outcome(() => enqueue(c, { producerId: f.producer, jobType: '' })),
    expected: { code: 'InvalidArgument', message: 'job_type is required' },
  },
  {
    name: 'Enqueue with run_at far in the future: OK (scheduled)',
    run: (c, f) =>
      outcome(() =>
        enqueue(c, {
          producerId: f.producer,
          jobType: 'mail',
          runAt: { seconds: 253_402_300_799n, nanos: 0 },
        }),
      ),
    expected: { code: 'OK', answerLike: { jobId: 'pjob_…' } },
  },
  {
    name: 'a payload over MAX_PAYLOAD_BYTES: INVALID_ARGUMENT',
    run: (c, f) =>
      outcome(() =>
        enqueue(c, {
          producerId: f.producer,
          jobType: 'mail',
          payload: new Uint8Array(MAX_PAYLOAD + 1),
        }),
      ),
    expected: { code: 'InvalidArgument' },
  },
  {
    name: 'a message over the receive cap: RESOURCE_EXHAUSTED before Jack reads it',
    run: (c, f) =>
      outcome(() =>
        enqueue(c, {
          producerId: f.producer,
          jobType: 'mail',
          payload: new Uint8Array(MAX_RECEIVE + 1024),
        }),
      ),
    expected: { code: 'ResourceExhausted' },
    sameMessage: false,
  },
  {
    name: 'EnqueueBulk: per-job results, the bad job alone refused',
    run: (c, f) =>
      outcome(() =>
        c.jobs.enqueueBulk(
          {
            jobs: [
              { producerId: f.producer, jobType: 'mail' },
              { producerId: f.producer, jobType: '' },
              { producerId: f.producer, jobType: 'mail' },
            ],
          },
          { headers: admin },
        ),
      ),
    expected: { code: 'OK' },
  },
  {
    name: 'EnqueueBulk of no jobs: INVALID_ARGUMENT',
    run: (c) => outcome(() => c.jobs.enqueueBulk({ jobs: [] }, { headers: admin })),
    expected: { code: 'InvalidArgument' },
  },
  {
    name: 'GetProducer of a registered producer: its record',
    run: (c, f) =>
      outcome(async () => {
        const { producer } = await c.admin.getProducer(
          { producerId: f.producer },
          { headers: admin },
        );
        return { name: producer?.name };
      }),
    expected: { code: 'OK', answer: { name: 'shop' } },
  },
  {
    name: 'GetProducer of an unknown producer: NOT_FOUND',
    run: (c) =>
      outcome(() => c.admin.getProducer({ producerId: 'prod_nobody' }, { headers: admin })),
    expected: { code: 'NotFound' },
  },
  {
    name: 'CreateJobType with an empty name: INVALID_ARGUMENT',
    run: (c, f) =>
      outcome(() =>
        c.admin.createJobType(
          { producerId: f.producer, name: '', queue: Queue.HIGH, description: '' },
          { headers: admin },
        ),
      ),
    expected: { code: 'InvalidArgument' },
  },
  {
    name: 'no API key: UNAUTHENTICATED',
    run: (c, f) =>
      outcome(() => enqueue(c, { producerId: f.producer, jobType: 'mail' }, {} as never)),
    expected: { code: 'Unauthenticated' },
  },
  {
    name: 'a wrong API key: UNAUTHENTICATED',
    run: (c, f) =>
      outcome(() =>
        enqueue(
          c,
          { producerId: f.producer, jobType: 'mail' },
          { authorization: 'Bearer jk_wrong' },
        ),
      ),
    expected: { code: 'Unauthenticated' },
  },
  {
    name: "a producer's key enqueuing for another producer: PERMISSION_DENIED",
    run: (c, f) =>
      outcome(() =>
        enqueue(
          c,
          { producerId: f.other, jobType: 'mail' },
          { authorization: `Bearer ${f.producerKey}` },
        ),
      ),
    expected: { code: 'PermissionDenied' },
  },
  {
    name: "a producer's key calling the admin API: PERMISSION_DENIED",
    run: (c, f) =>
      outcome(() =>
        c.admin.listProducers(
          { pageSize: 1 },
          { headers: { authorization: `Bearer ${f.producerKey}` } },
        ),
      ),
    expected: { code: 'PermissionDenied' },
  },
  {
    name: 'idempotency: the same key and job again answers the first job id',
    run: (c, f, transport) =>
      outcome(async () => {
        const job = {
          producerId: f.producer,
          jobType: 'mail',
          idempotencyKey: `same-${transport}`,
        };
        const first = await enqueue(c, job);
        const again = await enqueue(c, job);
        return { sameId: first.jobId === again.jobId };
      }),
    expected: { code: 'OK', answer: { sameId: true } },
  },
  {
    name: 'idempotency: the same key with another payload is a conflict',
    run: async (c, f, transport) => {
      const key = `diff-${transport}`;
      const job = { producerId: f.producer, jobType: 'mail', idempotencyKey: key };
      const got = await outcome(async () => {
        await enqueue(c, { ...job, payload: new TextEncoder().encode('a') });
        await enqueue(c, { ...job, payload: new TextEncoder().encode('b') });
      });
      // The message names the key, which differs per transport.
      return { ...got, message: got.message.replaceAll(key, '<key>') };
    },
    expected: { code: 'AlreadyExists' },
  },
  {
    name: 'rate limit: beyond the producer’s burst, RESOURCE_EXHAUSTED with a RetryInfo',
    run: (c, f) =>
      outcome(async () => {
        try {
          for (let i = 0; i < 5; i++) await enqueue(c, { producerId: f.limited, jobType: 'any' });
        } catch (err) {
          const e = ConnectError.from(err);
          const [retry] = e.findDetails(RetryInfoSchema);
          const delay = retry?.retryDelay;
          const ms = Number(delay?.seconds ?? 0n) * 1000 + (delay?.nanos ?? 0) / 1e6;
          if (!(ms > 0 && ms <= 1000)) throw new Error(`no RetryInfo in (0, 1 s]: ${ms}`);
          throw e;
        }
      }),
    expected: { code: 'ResourceExhausted' },
  },
];

const TRANSPORTS: { name: string; make(jack: RunningJack): Transport }[] = [
  {
    name: 'gRPC',
    make: (jack) =>
      createGrpcTransport({ baseUrl: `http://${jack.address}`, readMaxBytes: 1 << 20 }),
  },
  {
    name: 'Connect JSON, HTTP/1.1',
    make: (jack) =>
      createConnectTransport({
        baseUrl: `http://127.0.0.1:${jack.app.httpPort}`,
        httpVersion: '1.1',
        useBinaryFormat: false,
      }),
  },
  {
    name: 'Connect binary, h2c',
    make: (jack) =>
      createConnectTransport({
        baseUrl: `http://127.0.0.1:${jack.app.httpPort}`,
        httpVersion: '2',
        useBinaryFormat: true,
      }),
  },
  {
    name: 'gRPC-Web, HTTP/1.1',
    make: (jack) =>
      createGrpcWebTransport({
        baseUrl: `http://127.0.0.1:${jack.app.httpPort}`,
        httpVersion: '1.1',
      }),
  },
];

describe('one pipeline, four transports', () => {
  let jack: RunningJack;
  let fixture: Fixture;
  const exporter = new InMemorySpanExporter();
  const clients = new Map<string, Clients>();
  const outcomes = new Map<string, Map<string, Outcome>>();

  beforeAll(async () => {
    jack = await startJack(
      {
        AUTH_MODE: 'on',
        AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
        RATE_LIMIT_MODE: 'enforce',
        DEFAULT_RATE_LIMIT_RPS: '1000',
        GRPC_MAX_RECEIVE_BYTES: String(MAX_RECEIVE),
        MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
        HTTP_PORT: '0',
        METRICS_PORT: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        LOG_LEVEL: 'warn',
      },
      { spanExporter: exporter },
    );
    const grpcAdmin = createClient(AdminService, TRANSPORTS[0]?.make(jack) as Transport);
    const producer = (await grpcAdmin.createProducer({ name: 'shop' }, { headers: admin })).producer
      ?.producerId as string;
    const other = (await grpcAdmin.createProducer({ name: 'other' }, { headers: admin })).producer
      ?.producerId as string;
    for (const producerId of [producer, other]) {
      await grpcAdmin.createJobType(
        { producerId, name: 'mail', queue: Queue.HIGH, description: '' },
        { headers: admin },
      );
    }
    const { token } = await grpcAdmin.createApiKey({ producerId: producer }, { headers: admin });
    // Burst 2 and 2 jobs/s: a third call within the same second is refused.
    const limited = await registerProducer(jack, 'limited', 2);
    fixture = { producer, other, limited, producerKey: token };
    for (const t of TRANSPORTS) {
      const transport = t.make(jack);
      clients.set(t.name, {
        jobs: createClient(BackgroundJobs, transport),
        admin: createClient(AdminService, transport),
        ledger: createClient(Jobs, transport),
      });
    }
  });
  afterAll(async () => {
    await jack?.close();
  });

  for (const t of TRANSPORTS) {
    describe(t.name, () => {
      it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
        if (c.name.startsWith('rate limit')) await new Promise((r) => setTimeout(r, 1_100));
        const got = await c.run(clients.get(t.name) as Clients, fixture, t.name);
        const row = outcomes.get(c.name) ?? new Map<string, Outcome>();
        outcomes.set(c.name, row);
        row.set(t.name, got);
        expect(got.code).toBe(c.expected.code);
        if (c.expected.message !== undefined) expect(got.message).toBe(c.expected.message);
        if (c.expected.answer !== undefined) expect(got.answer).toEqual(c.expected.answer);
        if (c.expected.answerLike !== undefined)
          expect(got.answer).toMatchObject(c.expected.answerLike as object);
        // Jack's own words: never a library's text, never INTERNAL.
        expect(got.code).not.toBe('Internal');
        if (c.sameMessage !== false) {
          expect(got.message).not.toMatch(
            /protobuf|cannot decode|readMaxBytes|node_modules|\.js:/i,
          );
        }
      });

      it('answers the caller’s x-request-id, on success and on refusal', async () => {
        const c = clients.get(t.name) as Clients;
        const seen: string[] = [];
        const onHeader = (h: Headers) => seen.push(h.get('x-request-id') ?? '');
        await c.admin.getProducer(
          { producerId: fixture.producer },
          { headers: { ...admin, 'x-request-id': 'rid-ok' }, onHeader },
        );
        const refused = await c.jobs
          .enqueue(
            { producerId: '' },
            { headers: { ...admin, 'x-request-id': 'rid-no' }, onHeader },
          )
          .catch((e: unknown) => ConnectError.from(e));
        expect(refused).toBeInstanceOf(ConnectError);
        const fromError = (refused as ConnectError).metadata.get('x-request-id');
        expect([...seen, fromError].filter(Boolean)).toEqual(
          expect.arrayContaining(['rid-ok', 'rid-no']),
        );
        expect([...seen, fromError].filter((v) => v?.includes(','))).toEqual([]);
      });

      it('continues the caller’s trace (W3C traceparent)', async () => {
        const c = clients.get(t.name) as Clients;
        exporter.reset();
        const spanId = randomBytes(8).toString('hex');
        await enqueue(c, { producerId: fixture.producer, jobType: 'mail' }, {
          ...admin,
          traceparent: `00-${TRACE_ID}-${spanId}-01`,
        } as never);
        const server = exporter
          .getFinishedSpans()
          .find(
            (s) => s.spanContext().traceId === TRACE_ID && s.parentSpanContext?.spanId === spanId,
          );
        expect(server, `a span of Jack's under the caller's span over ${t.name}`).toBeDefined();
      });

      it('is counted under the same method label as every other transport', async () => {
        const c = clients.get(t.name) as Clients;
        const count = async () => {
          const text = await (
            await fetch(`http://127.0.0.1:${jack.app.metricsPort}/metrics`)
          ).text();
          return text
            .split('\n')
            .filter(
              (l) =>
                l.startsWith('jack_grpc_calls_total{') &&
                l.includes('GetProducer') &&
                l.includes('"OK"'),
            )
            .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
        };
        const before = await count();
        await c.admin.getProducer({ producerId: fixture.producer }, { headers: admin });
        expect(await count()).toBe(before + 1);
      });
    });
  }

  it('every case came to the same code, message and answer on every transport', () => {
    expect(outcomes.size).toBe(CASES.length);
    for (const [name, row] of outcomes) {
      expect(row.size, name).toBe(TRANSPORTS.length);
      const same = CASES.find((c) => c.name === name)?.sameMessage !== false;
      const [first, ...rest] = [...row.values()].map((o) => (same ? o : { ...o, message: '' }));
      for (const other of rest) expect(other, name).toEqual(first);
    }
  });
});
