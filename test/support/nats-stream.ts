/**
 * A stream of its own on a test nats-server, and what was stored on it:
 * each test uses a unique stream name and subject prefix, so tests share
 * one server without seeing each other's jobs.
 */
import { randomUUID } from 'node:crypto';
import {
  connect,
  type JetStreamManager,
  type NatsConnection,
  nanos,
  StorageType,
  type StoredMsg,
} from 'nats';
import type { NatsBackendConfig } from '../../src/config/index.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { withTimeout } from '../../src/timeout.js';

export interface StoredJob {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  data: Buffer;
}

export interface NatsStreamFixture {
  stream: string;
  prefix: string;
  jsm: JetStreamManager;
  /** Env for QUEUE_BACKEND=nats on this stream. */
  env(extra?: Record<string, string>): Record<string, string>;
  config(extra?: Record<string, string>): NatsBackendConfig;
  /** Every message stored on the stream, in order. */
  stored(): Promise<StoredJob[]>;
  close(): Promise<void>;
}

function toStoredJob(message: StoredMsg): StoredJob {
  const headers: Record<string, string> = {};
  for (const key of message.header?.keys() ?? []) headers[key] = message.header.get(key);
  return {
    subject: message.subject,
    seq: message.seq,
    headers,
    data: Buffer.from(message.data),
  };
}

export async function createNatsStream(
  url: string,
  options: {
    create?: boolean;
    duplicateWindowMs?: number;
    subjects?: (prefix: string) => string[];
  } = {},
): Promise<NatsStreamFixture> {
  const suffix = randomUUID().slice(0, 8);
  const stream = `JACK_${suffix}`;
  const prefix = `jack${suffix}`;
  // The client takes credentials as options, not inside the URL.
  const parsed = new URL(url);
  const nc: NatsConnection = await connect({
    servers: `${parsed.hostname}:${parsed.port}`,
    ...(parsed.username === ''
      ? {}
      : { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) }),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const jsm = await nc.jetstreamManager({ timeout: 5_000 });
  if (options.create !== false) {
    await jsm.streams.add({
      name: stream,
      subjects: options.subjects?.(prefix) ?? [`${prefix}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
    });
  }
  const env = (extra: Record<string, string> = {}) => ({
    QUEUE_BACKEND: 'nats',
    NATS_URL: url,
    NATS_STREAM: stream,
    NATS_SUBJECT_PREFIX: prefix,
    NATS_PUBLISH_TIMEOUT: '1s',
    ...extra,
  });
  return {
    stream,
    prefix,
    jsm,
    env,
    config: (extra) => (loadConfig(env(extra)) as Config).backend as NatsBackendConfig,
    async stored() {
      const info = await jsm.streams.info(stream);
      const jobs: StoredJob[] = [];
      for (
        let seq = info.state.first_seq;
        seq <= info.state.last_seq && info.state.messages > 0;
        seq += 1
      ) {
        try {
          jobs.push(toStoredJob(await jsm.streams.getMessage(stream, { seq })));
        } catch {
          // deleted message: skip
        }
      }
      return jobs;
    },
    async close() {
      // Bounded: outage tests close this after killing the server.
      await withTimeout(
        jsm.streams.delete(stream).catch(() => false),
        500,
        () => false,
      );
      await withTimeout(nc.close(), 500, () => {});
    },
  };
}
