/**
 * Worker tests' NATS: a stream of its own on a test nats-server (see
 * nats-stream.ts), one durable pull consumer per priority with a short
 * `ack_wait`, a worker backend with a small nak delay (so a failed job comes
 * back quickly), and a publisher for hand-made messages. The NATS twin of
 * worker-lanes.ts: `startJackForWorkers` takes either.
 */
import { AckPolicy, connect, DeliverPolicy, headers, type NatsConnection, nanos } from 'nats';
import { jobSubject } from '../../src/queue/nats/subject.js';
import { type NatsBackendOptions, natsBackend } from '../../src/worker/index.js';
import { PRIORITIES, type Priority } from '../../src/worker/job.js';
import { createNatsStream, type NatsStreamFixture } from './nats-stream.js';

export interface NatsWorkerLanes {
  url: string;
  fixture: NatsStreamFixture;
  /** Consumer name per priority: the worker's lanes. */
  lanes: Record<Priority, string>;
  /** Env of a Jack (or `jack work`) on this stream. */
  env(): Record<string, string>;
  /** A fresh worker backend on this stream. */
  backend(options?: Partial<NatsBackendOptions>): ReturnType<typeof natsBackend>;
  /** Adds a durable consumer `name` on the lane `priority` (optionally one job type's subject). */
  addConsumer(
    name: string,
    priority: Priority,
    options?: { ackWaitMs?: number; jobType?: string },
  ): Promise<void>;
  /** Publishes a hand-made message (no `Nats-Msg-Id`: the stream stores every copy). */
  publish(priority: Priority, data: Buffer, attributes: Record<string, string>): Promise<number>;
  /** A plain connection, for advisories. */
  nc: NatsConnection;
  close(): Promise<void>;
}

/** `ack_wait` of the lane consumers: short, so a lost lease would show within a test. */
export const LANE_ACK_WAIT_MS = 3_000;

export async function createNatsWorkerLanes(url: string): Promise<NatsWorkerLanes> {
  const fixture = await createNatsStream(url);
  const parsed = new URL(url);
  const nc = await connect({ servers: `${parsed.hostname}:${parsed.port}` });
  const js = nc.jetstream();
  const addConsumer: NatsWorkerLanes['addConsumer'] = async (name, priority, options = {}) => {
    await fixture.jsm.consumers.add(fixture.stream, {
      durable_name: name,
      filter_subject:
        options.jobType === undefined
          ? `${fixture.prefix}.${priority}.>`
          : jobSubject(fixture.prefix, priority, options.jobType),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs ?? LANE_ACK_WAIT_MS),
      max_deliver: -1,
    });
  };
  const lanes = {} as Record<Priority, string>;
  for (const p of PRIORITIES) {
    lanes[p] = `work-${p}`;
    await addConsumer(lanes[p], p);
  }
  return {
    url,
    fixture,
    lanes,
    nc,
    env: () => fixture.env(),
    backend: (options = {}) =>
      natsBackend({
        servers: `${parsed.hostname}:${parsed.port}`,
        stream: fixture.stream,
        subjectPrefix: fixture.prefix,
        nakDelay: { minMs: 100, maxMs: 1_000 },
        ...options,
      }),
    addConsumer,
    async publish(priority, data, attributes) {
      const h = headers();
      for (const [key, value] of Object.entries(attributes)) h.set(key, value);
      const ack = await js.publish(
        jobSubject(fixture.prefix, priority, attributes.job_type ?? ''),
        data,
        { headers: h },
      );
      return ack.seq;
    },
    async close() {
      await fixture.close();
      await nc.close();
    },
  };
}
