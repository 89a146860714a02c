/**
 * SPEC §11 over a real socket: a server span per call continuing the
 * caller's W3C trace, a producer span per publish, the context in the
 * message attributes, trace ids on the call's log lines, OTLP export, and
 * nothing of it when tracing is off.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { status } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const job = (fields = {}) =>
  enqueueRequest({
    producerId: 'prod_t',
    jobType: 'send_email',
    payload: Buffer.from('{}'),
    ...fields,
  });

const byKind = (spans: ReadableSpan[], kind: SpanKind) => spans.filter((s) => s.kind === kind);

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set), spans in memory', () => {
  const exporter = new InMemorySpanExporter();
  const backend: RecordingBackend = createRecordingBackend();
  let jack: RunningJack;

  beforeAll(async () => {
    jack = await startJack(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      { backend, spanExporter: exporter },
    );
  });
  afterAll(async () => {
    await jack.close();
  });
  afterEach(() => {
    exporter.reset();
    backend.reset();
    backend.failWith = () => undefined;
  });

  it('continues the caller trace: server span, producer span, context in the message', async () => {
    await call(jack.jobs, 'enqueue', job({ traceId: 'app-trace-7' }), {
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    const spans = exporter.getFinishedSpans();
    const [server] = byKind(spans, SpanKind.SERVER);
    const [producer] = byKind(spans, SpanKind.PRODUCER);
    expect(server?.name).toBe('jack.BackgroundJobs/Enqueue');
    expect(server?.spanContext().traceId).toBe(TRACE_ID);
    expect(server?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(server?.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'jack.BackgroundJobs',
      'rpc.method': 'Enqueue',
      'rpc.grpc.status_code': 0,
    });
    expect(server?.status.code).toBe(SpanStatusCode.UNSET);

    const message = backend.last();
    expect(producer?.name).toBe('send medium');
    expect(producer?.spanContext().traceId).toBe(TRACE_ID);
    expect(producer?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(producer?.attributes).toMatchObject({
      'messaging.system': 'gcp_pubsub',
      'messaging.destination.name': 'medium',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'jack.priority': 'medium',
      'jack.job_id': message.jobId,
    });
    expect(producer?.attributes['messaging.message.id']).toEqual(expect.any(String));

    const carried = `00-${TRACE_ID}-${producer?.spanContext().spanId}-01`;
    expect(message.attributes).toMatchObject({
      traceparent: carried,
      googclient_traceparent: carried,
      tracestate: 'vendor=abc',
      googclient_tracestate: 'vendor=abc',
      // The request's own trace_id field still travels as before.
      trace_id: 'app-trace-7',
    });
  });

  it('starts a new trace when the caller sends none, and one producer span per bulk job', async () => {
    await call(jack.jobs, 'enqueueBulk', { jobs: [job(), job(), job({ jobType: '' })] });
    const spans = exporter.getFinishedSpans();
    const [server] = byKind(spans, SpanKind.SERVER);
    const producers = byKind(spans, SpanKind.PRODUCER);
    expect(server?.parentSpanContext).toBeUndefined();
    expect(producers).toHaveLength(2);
    for (const producer of producers) {
      expect(producer.spanContext().traceId).toBe(server?.spanContext().traceId);
      expect(producer.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    }
    expect(new Set(producers.map((p) => p.spanContext().spanId)).size).toBe(2);
  });

  it('marks a failed publish on the producer span and a server fault on the server span', async () => {
    backend.failWith = () => 'unavailable';
    const failure = await callError(
      call(jack.jobs, 'enqueue', job(), { traceparent: TRACEPARENT }),
    );
    expect(failure.code).toBe(status.UNAVAILABLE);
    const spans = exporter.getFinishedSpans();
    expect(byKind(spans, SpanKind.PRODUCER)[0]?.status.code).toBe(SpanStatusCode.ERROR);
    const [server] = byKind(spans, SpanKind.SERVER);
    expect(server?.status.code).toBe(SpanStatusCode.ERROR);
    expect(server?.attributes['rpc.grpc.status_code']).toBe(status.UNAVAILABLE);

    // The call's log line carries its trace and span ids.
    const line = jack.logs.findLast((l) => l.msg === 'call failed');
    expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: server?.spanContext().spanId });
  });

  it('does not mark a client error as a server fault', async () => {
    await callError(call(jack.jobs, 'enqueue', job({ producerId: '' })));
    const [server] = byKind(exporter.getFinishedSpans(), SpanKind.SERVER);
    expect(server?.attributes['rpc.grpc.status_code']).toBe(status.INVALID_ARGUMENT);
    expect(server?.status.code).toBe(SpanStatusCode.UNSET);
  });
});

describe('log lines written while a call is handled', () => {
  it('carry the trace and span ids of the call (pino mixin)', async () => {
    const exporter = new InMemorySpanExporter();
    const jack = await startJack(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      { spanExporter: exporter },
    );
    try {
      await call(jack.jobs, 'enqueue', job(), { traceparent: TRACEPARENT });
      const [server] = byKind(exporter.getFinishedSpans(), SpanKind.SERVER);
      // The noop backend logs each job at debug, inside the call.
      const line = jack.logs.findLast((l) => l.msg === 'noop backend accepted job');
      expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: server?.spanContext().spanId });
      // Lines outside a call carry none.
      expect(jack.logs.find((l) => l.msg.startsWith('QUEUE_BACKEND=noop'))).not.toHaveProperty(
        'trace_id',
      );
    } finally {
      await jack.close();
    }
  });
});

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('adds no trace attributes and no trace ids to log lines', async () => {
    const backend = createRecordingBackend();
    const jack = await startJack({}, { backend });
    try {
      await call(jack.jobs, 'enqueue', job(), { traceparent: TRACEPARENT });
      expect(Object.keys(backend.last().attributes).filter((k) => k.includes('trace'))).toEqual([]);
      await callError(
        call(jack.jobs, 'enqueue', job({ producerId: '' }), { traceparent: TRACEPARENT }),
      );
      const line = jack.logs.findLast((l) => l.msg === 'call failed');
      expect(line).toBeDefined();
      expect(line).not.toHaveProperty('trace_id');
    } finally {
      await jack.close();
    }
  });
});

describe('OTLP export to a collector', () => {
  let collector: Server;
  const requests: { path: string; type: string; body: string }[] = [];

  beforeAll(async () => {
    collector = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });

  it('POSTs the spans to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, flushed at shutdown', async () => {
    const address = collector.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const jack = await startJack(
      { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'jack-test' },
      { backend: createRecordingBackend() },
    );
    await call(jack.jobs, 'enqueue', job(), { traceparent: TRACEPARENT });
    await jack.close();
    const exported = requests.filter((r) => r.path === '/v1/traces');
    expect(exported.length).toBeGreaterThan(0);
    const body = exported.map((r) => r.body).join('\n');
    expect(body).toContain(TRACE_ID);
    expect(body).toContain('jack-test');
  });
});
