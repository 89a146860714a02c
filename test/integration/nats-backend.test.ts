/**
 * Issue 25, the NATS JetStream backend against a real nats-server: what
 * lands on the stream (subject, headers, payload) in both message formats,
 * JetStream's duplicate window keyed by the job id, NATS_CREATE_STREAM, and
 * the startup refusals (one stderr line each, no credentials anywhere). The
 * spawned tests run dist/main.js: `make test` builds it first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageFormat } from '../../src/config/index.js';
import type { Backend, Job, Priority } from '../../src/queue/backend.js';
import { encodeMessage } from '../../src/queue/message.js';
import { createNatsBackend } from '../../src/queue/nats/backend.js';
import { logSink } from '../support/jack.js';
import { type NatsServer, natsAvailable, startNatsServer } from '../support/nats.js';
import { createNatsStream, type NatsStreamFixture } from '../support/nats-stream.js';
import { freePort } from '../support/pubsub-emulator.js';
import { runToExit } from '../support/spawn.js';

const silent = pino({ level: 'silent' });

function job(overrides: Partial<Job> = {}): Job {
  const createdAt = new Date('2026-12-05T07:00:00.123Z');
  return {
    id: `pjob_nats_${Math.random().toString(36).slice(2, 12)}`,
    producerId: 'prod_nats',
    jobType: 'email.send',
    priority: 'high',
    payload: Buffer.from('{"to":"a@example.com"}'),
    runAt: createdAt,
    createdAt,
    traceId: '',
    correlationId: '',
    maxRetries: 3,
    shadow: false,
    ...overrides,
  };
}

describe.skipIf(!natsAvailable())('NATS backend on a real nats-server', () => {
  let nats: NatsServer;
  const streams: NatsStreamFixture[] = [];
  const backends: Backend[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  afterEach(async () => {
    for (const backend of backends.splice(0)) await backend.close();
    for (const stream of streams.splice(0)) await stream.close();
  });

  async function open(
    streamOptions: Parameters<typeof createNatsStream>[1] = {},
    env: Record<string, string> = {},
    duplicates: Priority[] = [],
  ) {
    const stream = await createNatsStream(nats.url, streamOptions);
    streams.push(stream);
    const backend = await createNatsBackend({
      config: stream.config(env),
      logger: silent,
      metrics: { duplicatePublished: (priority) => duplicates.push(priority) },
    });
    backends.push(backend);
    return { stream, backend };
  }

  for (const format of ['native', 'legacy'] as MessageFormat[]) {
    it(`stores subject, headers and payload exactly (MESSAGE_FORMAT=${format})`, async () => {
      const { stream, backend } = await open();
      const one = job({ traceId: 'trace-1', correlationId: 'corr-1' });
      const message = encodeMessage(one, format, new Date('2026-12-05T07:00:01Z'));
      const id = await backend.publish(message);
      expect(id).toBe(`${stream.stream}:1`);

      const [stored, ...rest] = await stream.stored();
      expect(rest).toEqual([]);
      expect(stored?.subject).toBe(`${stream.prefix}.high.email_2Esend`);
      expect(stored?.headers).toEqual({
        ...message.attributes,
        'Nats-Msg-Id': one.id,
      });
      expect(stored?.headers).toMatchObject({
        job_id: one.id,
        producer_id: 'prod_nats',
        job_type: 'email.send',
        priority: 'high',
        run_at: '2026-12-05T07:00:00.123Z',
        created_at: '2026-12-05T07:00:00.123Z',
        max_retries: '3',
        shadow: 'false',
        trace_id: 'trace-1',
        correlation_id: 'corr-1',
      });
      expect(stored?.data.equals(message.data)).toBe(true);
      if (format === 'native') expect(stored?.data.toString()).toBe('{"to":"a@example.com"}');
      else expect(JSON.parse(String(stored?.data)).args).toEqual({ to: 'a@example.com' });
    });
  }

  it('a retried publish with the same job id is stored once, acknowledged and counted', async () => {
    const duplicates: Priority[] = [];
    const { stream, backend } = await open({}, {}, duplicates);
    const message = encodeMessage(job({ priority: 'low' }), 'native', new Date());
    const first = await backend.publish(message);
    const retried = await backend.publish(message);
    expect(retried).toBe(first);
    expect(duplicates).toEqual(['low']);
    expect((await stream.stored()).map((m) => m.headers.job_id)).toEqual([message.jobId]);
  });

  it('the stream duplicate window is honoured: after it passes, the same id is stored again', async () => {
    const { stream, backend } = await open({ duplicateWindowMs: 500 });
    const message = encodeMessage(job(), 'native', new Date());
    await backend.publish(message);
    await backend.publish(message);
    expect(await stream.stored()).toHaveLength(1);
    await sleep(1_200);
    await backend.publish(message);
    expect(await stream.stored()).toHaveLength(2);
  });

  it('NATS_CREATE_STREAM=true creates a file stream with the configured replicas and window', async () => {
    const { stream } = await open(
      { create: false },
      { NATS_CREATE_STREAM: 'true', NATS_DUPLICATE_WINDOW: '90s' },
    );
    const info = await stream.jsm.streams.info(stream.stream);
    expect(info.config.subjects).toEqual([`${stream.prefix}.>`]);
    expect(info.config.storage).toBe('file');
    expect(info.config.num_replicas).toBe(1);
    expect(info.config.duplicate_window).toBe(90_000 * 1_000_000);
  });

  it('check follows the stream: it fails once the stream is deleted', async () => {
    const { stream, backend } = await open();
    await backend.check();
    await stream.jsm.streams.delete(stream.stream);
    await expect(backend.check()).rejects.toMatchObject({ code: 'internal' });
  });

  describe('startup refusals: one stderr line, exit 1', () => {
    async function refusal(env: Record<string, string>): Promise<string> {
      const child = await runToExit({ env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...env } });
      const exit = await child.exited;
      expect(exit.code).toBe(1);
      const lines = child.stderr().trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      // The startup line writes the whole configuration: no secret in it.
      expect(JSON.stringify(child.logs)).not.toMatch(/hunter2secret|tokensecret/);
      return lines[0] ?? '';
    }

    it('no stream', async () => {
      const stream = await createNatsStream(nats.url, { create: false });
      streams.push(stream);
      const line = await refusal(stream.env());
      expect(line).toContain(`NATS stream ${stream.stream} does not exist`);
      expect(line).toContain('NATS_CREATE_STREAM');
    });

    it('a stream that does not cover every lane', async () => {
      const stream = await createNatsStream(nats.url, {
        subjects: (prefix) => [`${prefix}.high.>`, `${prefix}.medium.>`],
      });
      streams.push(stream);
      const line = await refusal(stream.env());
      expect(line).toContain(`does not cover ${stream.prefix}.immediate.>, ${stream.prefix}.low.>`);
    });

    it('a bad URL, without repeating its password', async () => {
      const line = await refusal({
        QUEUE_BACKEND: 'nats',
        NATS_URL: 'nats://127.0.0.1:4222,http://jack:hunter2secret@example.com',
      });
      expect(line).toContain('NATS_URL entry 2 is not a nats://host:port or tls://host:port URL');
      expect(line).not.toContain('hunter2secret');
    });

    it('no server: the URL is named, its credentials are not', async () => {
      const port = await freePort();
      const line = await refusal({
        QUEUE_BACKEND: 'nats',
        NATS_URL: `nats://jack:hunter2secret@127.0.0.1:${port}`,
        NATS_PUBLISH_TIMEOUT: '500ms',
      });
      expect(line).toContain(`cannot connect to NATS at nats://127.0.0.1:${port}`);
      expect(line).not.toContain('hunter2secret');
    });

    it('no server, with NATS_TOKEN: the token is nowhere', async () => {
      const port = await freePort();
      const line = await refusal({
        QUEUE_BACKEND: 'nats',
        NATS_URL: `nats://127.0.0.1:${port}`,
        NATS_TOKEN: 'tokensecret',
        NATS_PUBLISH_TIMEOUT: '500ms',
      });
      expect(line).toContain(`cannot connect to NATS at nats://127.0.0.1:${port}`);
      expect(line).not.toContain('tokensecret');
    });
  });

  it('credentials in NATS_URL work and never reach a log line', async () => {
    const secured = await startNatsServer({ user: { name: 'jack', password: 'hunter2secret' } });
    try {
      const stream = await createNatsStream(secured.url);
      const sink = logSink();
      const logger = pino({ level: 'debug' }, sink.stream);
      const backend = await createNatsBackend({ config: stream.config(), logger });
      await backend.publish(encodeMessage(job(), 'native', new Date()));
      await secured.kill();
      await backend.check().catch(() => {});
      await secured.restart();
      await backend.close();
      await stream.close();
      const text = JSON.stringify(sink.lines);
      expect(sink.lines.length).toBeGreaterThan(0);
      expect(text).toContain(`nats://127.0.0.1:${secured.port}`);
      expect(text).not.toContain('hunter2secret');

      // Wrong credentials: refused at startup, one line, no password.
      const wrong = stream.env({
        NATS_URL: `nats://jack:wrongsecret@127.0.0.1:${secured.port}`,
      });
      const child = await runToExit({ env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...wrong } });
      const line = child.stderr().trimEnd();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toContain("refused Jack's credentials");
      expect(line).not.toContain('wrongsecret');
    } finally {
      await secured.stop();
    }
  });
});
