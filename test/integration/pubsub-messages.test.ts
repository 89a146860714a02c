/**
 * Issue 3, end to end: gRPC Enqueue → Jack → Pub/Sub emulator → pull. Every
 * test has its own emulator project (own topics and subscriptions) and its
 * own in-process Jack, and checks exactly what a subscriber receives.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import type { Priority } from '../../src/queue/backend.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { createJobType, createProducerId } from '../support/enqueue-harness.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

/** A request of this file's usual producer and job type, then `fields`. */
const job = (fields: Partial<EnqueueRequest> = {}): EnqueueRequest =>
  enqueueRequest({
    producerId: 'prod_unknown',
    jobType: 'send_email',
    payload: Buffer.from('{"to":"a@example.com"}'),
    ...fields,
  });

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A UTC time as Go's time.Time.MarshalJSON writes it: the fraction's trailing zeros cut (`.72Z`, `:05Z`). */
const GO_RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z$/;

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: messages on the topics', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A fresh emulator project with topics for `priorities`, and a Jack publishing to them. */
  async function setup(
    env: Record<string, string> = {},
    priorities?: readonly Priority[],
  ): Promise<{ pubsub: PubSubFixture; jack: RunningJack }> {
    const pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities });
    cleanups.push(() => pubsub.close());
    const jack = await startJack({ ...pubsub.env(priorities), ...env });
    cleanups.push(() => jack.close());
    return { pubsub, jack };
  }

  const registerProducer = (jack: RunningJack) => createProducerId(jack);
  const registerJobType = (
    jack: RunningJack,
    producerId: string,
    name: string,
    queue: Queue,
    maxRetries = 0,
  ) => createJobType(jack, producerId, name, queue, maxRetries);

  it('native: text payload byte for byte, every attribute, unregistered → MEDIUM with warnings', async () => {
    const { pubsub, jack } = await setup();
    const before = Date.now();
    const res = await call(jack.jobs, 'enqueue', job({ payload: Buffer.from('héllo, wörld') }));
    expect(res.errorMessages).toEqual([
      'unregistered producer_id: prod_unknown',
      'unregistered job_type: send_email (producer: prod_unknown)',
    ]);

    const [message, ...extra] = await pubsub.pull('medium', 1);
    expect(extra).toEqual([]);
    expect(message?.id).not.toBe('');
    expect(message?.data.equals(Buffer.from('héllo, wörld'))).toBe(true);
    const attributes = message?.attributes ?? {};
    expect(Object.keys(attributes).sort()).toEqual([
      'created_at',
      'job_id',
      'job_type',
      'max_retries',
      'priority',
      'producer_id',
      'run_at',
      'shadow',
    ]);
    expect(attributes).toMatchObject({
      job_id: res.jobId,
      producer_id: 'prod_unknown',
      job_type: 'send_email',
      priority: 'medium',
      max_retries: '10',
      shadow: 'false',
    });
    expect(attributes.created_at).toMatch(RFC3339_UTC);
    expect(attributes.run_at).toBe(attributes.created_at);
    expect(Date.parse(attributes.created_at ?? '')).toBeGreaterThanOrEqual(before - 1);
    for (const other of ['immediate', 'high', 'low'] as const) {
      expect(await pubsub.drain(other)).toEqual([]);
    }
  });

  it('native: binary and empty payloads arrive untouched', async () => {
    const { pubsub, jack } = await setup();
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const a = await call(jack.jobs, 'enqueue', job({ payload: binary }));
    const b = await call(jack.jobs, 'enqueue', job({ payload: Buffer.alloc(0) }));

    const messages = await pubsub.pull('medium', 2);
    expect(messages).toHaveLength(2);
    const byJob = new Map(messages.map((m) => [m.attributes.job_id, m]));
    expect(byJob.get(a.jobId)?.data.equals(binary)).toBe(true);
    expect(byJob.get(b.jobId)?.data.length).toBe(0);
  });

  it('trace_id and correlation_id travel as attributes only when set; run_at is carried', async () => {
    const { pubsub, jack } = await setup();
    const runAt = new Date('2031-02-03T04:05:06.789Z');
    const res = await call(
      jack.jobs,
      'enqueue',
      job({ traceId: 'trace-1', correlationId: 'corr-1', runAt }),
    );
    expect(res.correlationId).toBe('corr-1');

    const [message] = await pubsub.pull('medium', 1);
    expect(message?.attributes).toMatchObject({
      job_id: res.jobId,
      trace_id: 'trace-1',
      correlation_id: 'corr-1',
      run_at: '2031-02-03T04:05:06.789Z',
    });
    expect(message?.attributes.created_at).not.toBe(message?.attributes.run_at);
  });

  it('shadow metadata (case-insensitive) sets the shadow attribute; other values do not', async () => {
    const { pubsub, jack } = await setup();
    const shadow = await call(jack.jobs, 'enqueue', job(), { shadow: 'TRUE' });
    const notShadow = await call(jack.jobs, 'enqueue', job(), { shadow: 'no' });
    const plain = await call(jack.jobs, 'enqueue', job());

    const messages = await pubsub.pull('medium', 3);
    const shadowOf = Object.fromEntries(
      messages.map((m) => [m.attributes.job_id, m.attributes.shadow]),
    );
    expect(shadowOf).toEqual({
      [shadow.jobId]: 'true',
      [notShadow.jobId]: 'false',
      [plain.jobId]: 'false',
    });
  });

  it('routes registered job types to all four topics with their max_retries', async () => {
    const { pubsub, jack } = await setup();
    const producerId = await registerProducer(jack);
    await registerJobType(jack, producerId, 'page_oncall', Queue.QUEUE_IMMEDIATE, 7);
    await registerJobType(jack, producerId, 'send_email', Queue.QUEUE_HIGH, 5);
    await registerJobType(jack, producerId, 'resize_image', Queue.QUEUE_MEDIUM);
    await registerJobType(jack, producerId, 'nightly_report', Queue.QUEUE_LOW, 2);
    await registerJobType(jack, producerId, 'unspecified', Queue.QUEUE_UNSPECIFIED, 4);

    const expected: [string, Priority, string][] = [
      ['page_oncall', 'immediate', '7'],
      ['send_email', 'high', '5'],
      ['resize_image', 'medium', '3'],
      ['nightly_report', 'low', '2'],
    ];
    const ids = new Map<string, string>();
    for (const [jobType] of expected) {
      const res = await call(jack.jobs, 'enqueue', job({ producerId, jobType }));
      expect(res.errorMessages).toEqual([]);
      ids.set(jobType, res.jobId);
    }
    const unspecified = await call(
      jack.jobs,
      'enqueue',
      job({ producerId, jobType: 'unspecified' }),
    );

    for (const [jobType, priority, maxRetries] of expected) {
      const messages = await pubsub.pull(priority, priority === 'medium' ? 2 : 1);
      const message = messages.find((m) => m.attributes.job_type === jobType);
      expect(message?.attributes).toMatchObject({
        job_id: ids.get(jobType),
        producer_id: producerId,
        priority,
        max_retries: maxRetries,
      });
      if (priority === 'medium') {
        expect(
          messages.find((m) => m.attributes.job_type === 'unspecified')?.attributes,
        ).toMatchObject({
          job_id: unspecified.jobId,
          priority: 'medium',
          max_retries: '4',
        });
      } else {
        expect(messages).toHaveLength(1);
      }
    }
  });

  it('a priority without a topic goes to the MEDIUM topic, keeping its own priority attribute', async () => {
    const { pubsub, jack } = await setup({}, ['medium', 'high']);
    const producerId = await registerProducer(jack);
    await registerJobType(jack, producerId, 'urgent', Queue.QUEUE_IMMEDIATE);
    await registerJobType(jack, producerId, 'later', Queue.QUEUE_LOW);
    await registerJobType(jack, producerId, 'soon', Queue.QUEUE_HIGH);

    const urgent = await call(jack.jobs, 'enqueue', job({ producerId, jobType: 'urgent' }));
    const later = await call(jack.jobs, 'enqueue', job({ producerId, jobType: 'later' }));
    const soon = await call(jack.jobs, 'enqueue', job({ producerId, jobType: 'soon' }));

    const onMedium = await pubsub.pull('medium', 2);
    expect(
      Object.fromEntries(onMedium.map((m) => [m.attributes.job_id, m.attributes.priority])),
    ).toEqual({ [urgent.jobId]: 'immediate', [later.jobId]: 'low' });
    const onHigh = await pubsub.pull('high', 1);
    expect(onHigh.map((m) => m.attributes.job_id)).toEqual([soon.jobId]);
  });

  it('LEGACY_PAYLOAD_QUEUE_ROUTING: the payload picks the topic, no job-type lookup', async () => {
    const { pubsub, jack } = await setup({ LEGACY_PAYLOAD_QUEUE_ROUTING: 'true' });
    const producerId = await registerProducer(jack);
    await registerJobType(jack, producerId, 'send_email', Queue.QUEUE_LOW, 2);

    const routed = await call(
      jack.jobs,
      'enqueue',
      job({ producerId, payload: Buffer.from('{"queue":"high","to":"x"}') }),
    );
    expect(routed.errorMessages).toEqual([]);
    const fallback = await call(
      jack.jobs,
      'enqueue',
      job({ producerId, payload: Buffer.from('{"queue":"urgent"}') }),
    );

    const [high] = await pubsub.pull('high', 1);
    expect(high?.attributes).toMatchObject({
      job_id: routed.jobId,
      priority: 'high',
      max_retries: '10',
    });
    const [low] = await pubsub.pull('low', 1);
    expect(low?.attributes).toMatchObject({
      job_id: fallback.jobId,
      priority: 'low',
      max_retries: '2',
    });
  });

  it('legacy format: every field, args as Go wrote them, null for an empty payload', async () => {
    const { pubsub, jack } = await setup({ MESSAGE_FORMAT: 'legacy' });
    const args = '{"b": 1.50, "a":[1,2,{"z":null}], "h":"<a & b>"}';
    const runAt = new Date('2030-01-01T00:00:00.000Z');
    const res = await call(
      jack.jobs,
      'enqueue',
      job({ payload: Buffer.from(args), runAt, traceId: 't', correlationId: 'c' }),
    );
    const empty = await call(jack.jobs, 'enqueue', job({ payload: Buffer.alloc(0) }));

    const messages = await pubsub.pull('medium', 2);
    const withArgs = messages.find((m) => m.attributes.job_id === res.jobId);
    const text = withArgs?.data.toString('utf8') ?? '';
    // Go's json.Marshal of a json.RawMessage: compact, <>& escaped, else verbatim.
    expect(text).toContain(
      '"args":{"b":1.50,"a":[1,2,{"z":null}],"h":"\\u003ca \\u0026 b\\u003e"},',
    );
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'id',
      'run_at',
      'queue',
      'args',
      'status',
      'created_at',
      'updated_at',
      'job_type',
      'published_at',
      'error_count',
    ]);
    expect(body).toMatchObject({
      id: res.jobId,
      run_at: '2030-01-01T00:00:00Z',
      queue: 'medium',
      args: { b: 1.5, a: [1, 2, { z: null }], h: '<a & b>' },
      status: 'not_published',
      job_type: 'send_email',
      error_count: 0,
    });
    // Same instant as the attribute, written as Go writes times (zeros of the fraction cut).
    expect(Date.parse(body.created_at as string)).toBe(
      Date.parse(withArgs?.attributes.created_at ?? ''),
    );
    expect(body.updated_at).toBe(body.created_at);
    expect(body.published_at).toMatch(GO_RFC3339_UTC);
    expect(withArgs?.attributes).toMatchObject({
      job_id: res.jobId,
      trace_id: 't',
      correlation_id: 'c',
      run_at: '2030-01-01T00:00:00.000Z',
    });

    const emptyMessage = messages.find((m) => m.attributes.job_id === empty.jobId);
    expect((JSON.parse(emptyMessage?.data.toString('utf8') ?? '') as { args: unknown }).args).toBe(
      null,
    );
  });

  it('legacy format: a payload that is not JSON is refused and never published', async () => {
    const { pubsub, jack } = await setup({ MESSAGE_FORMAT: 'legacy' });
    const err = await callError(
      call(jack.jobs, 'enqueue', job({ payload: Buffer.from('not json') })),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('not valid JSON');

    const bulk = await call(jack.jobs, 'enqueueBulk', {
      jobs: [job({ payload: Buffer.from('{"ok":true}') }), job({ payload: Buffer.from('<xml/>') })],
    });
    expect(bulk.results.map((r) => r.reason)).toEqual(['', 'validation_error']);
    expect(bulk.results[1]?.jobId).toBe('');

    const messages = await pubsub.pull('medium', 1);
    expect(messages.map((m) => m.attributes.job_id)).toEqual([bulk.results[0]?.jobId]);
  });
});
