/**
 * Per-test Pub/Sub resources on an emulator: a project of its own (so no
 * two tests ever share a topic), one topic and one subscription per
 * priority, and a synchronous pull that returns exactly what landed.
 */
import { PubSub, v1 } from '@google-cloud/pubsub';
import { PRIORITIES, type Priority } from '../../src/queue/backend.js';
import { uniqueName } from './emulator.js';
import { emulatorClientOptions } from './pubsub-emulator.js';

/** A message as a subscriber sees it. */
export interface ReceivedMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
}

export interface PubSubFixture {
  /** host:port of the emulator. */
  host: string;
  project: string;
  /** Short topic name per priority (created unless left out). */
  topics: Record<Priority, string>;
  /**
   * Env for `startJack` / a spawned Jack: backend, project, emulator and the
   * topics of `priorities` (default: all four).
   */
  env(priorities?: readonly Priority[]): Record<string, string>;
  /** Creates the topics (again, e.g. after an emulator restart) and their subscriptions. */
  createTopics(priorities?: readonly Priority[]): Promise<void>;
  /**
   * Pulls (and acks) from the subscription of `topicOf` until at least
   * `count` messages arrived, then once more to catch any extra; throws
   * when they do not arrive in `timeoutMs`.
   */
  pull(topicOf: Priority, count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Whether the topic of `priority` exists in the emulator. */
  topicExists(priority: Priority): Promise<boolean>;
  /** Everything currently waiting in the subscription of `topicOf` (acked). */
  drain(topicOf: Priority): Promise<ReceivedMessage[]>;
  /** Deletes what this fixture created and closes its clients. */
  close(): Promise<void>;
}

/** Creates a fixture; the topics and subscriptions of `priorities` (default all) are created now. */
export async function createPubSubFixture(
  host: string,
  options: { priorities?: readonly Priority[]; create?: boolean } = {},
): Promise<PubSubFixture> {
  const project = uniqueName('jack-test');
  const topics = Object.fromEntries(PRIORITIES.map((p) => [p, `jobs-${p}`])) as Record<
    Priority,
    string
  >;
  const client = new PubSub(emulatorClientOptions(project, host));
  const subscriber = new v1.SubscriberClient(
    (await client.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0],
  );
  const subscription = (p: Priority) => `projects/${project}/subscriptions/sub-${p}`;

  const createTopics = async (priorities: readonly Priority[] = PRIORITIES) => {
    for (const p of priorities) {
      const [topic] = await client.topic(topics[p]).get({ autoCreate: true });
      await topic
        .subscription(subscription(p))
        .get({ autoCreate: true })
        .catch((err: unknown) => {
          throw new Error(`cannot create subscription for ${topics[p]}: ${String(err)}`);
        });
    }
  };

  const pullOnce = async (p: Priority, waitMs: number): Promise<ReceivedMessage[]> => {
    const received = await subscriber
      .pull({ subscription: subscription(p), maxMessages: 1000 }, { timeout: waitMs, retry: null })
      .then(
        ([response]) => response.receivedMessages ?? [],
        (err: unknown) => {
          // The emulator holds a pull open until messages arrive; no message in
          // time ends the call with DEADLINE_EXCEEDED, which just means "none".
          if ((err as { code?: number }).code === 4) return [];
          throw err;
        },
      );
    if (received.length > 0) {
      await subscriber.acknowledge({
        subscription: subscription(p),
        ackIds: received.map((r) => r.ackId ?? ''),
      });
    }
    return received.map((r) => ({
      id: r.message?.messageId ?? '',
      data: Buffer.from(r.message?.data ?? new Uint8Array()),
      attributes: { ...(r.message?.attributes ?? {}) },
    }));
  };

  const drain = async (p: Priority) => {
    const all: ReceivedMessage[] = [];
    for (;;) {
      const batch = await pullOnce(p, 500);
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  };

  if (options.create !== false) await createTopics(options.priorities);

  return {
    host,
    project,
    topics,
    env(priorities = PRIORITIES) {
      const env: Record<string, string> = {
        QUEUE_BACKEND: 'pubsub',
        PUBSUB_PROJECT: project,
        PUBSUB_EMULATOR_HOST: host,
      };
      for (const p of priorities) env[`PUBSUB_TOPIC_${p.toUpperCase()}`] = topics[p];
      return env;
    },
    createTopics,
    async pull(p, count, timeoutMs = 20_000) {
      const all: ReceivedMessage[] = [];
      const deadline = Date.now() + timeoutMs;
      while (all.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`only ${all.length} of ${count} messages arrived on ${topics[p]}`);
        }
        all.push(...(await pullOnce(p, 2_000)));
      }
      all.push(...(await drain(p)));
      return all;
    },
    drain,
    async topicExists(p) {
      const [exists] = await client.topic(topics[p]).exists();
      return exists;
    },
    async close() {
      for (const p of PRIORITIES) {
        await client
          .subscription(subscription(p))
          .delete()
          .catch(() => {});
        await client
          .topic(topics[p])
          .delete()
          .catch(() => {});
      }
      await subscriber.close();
      await client.close();
    },
  };
}
