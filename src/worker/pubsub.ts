/**
 * The Pub/Sub lane source (SPEC §15): one subscription per lane, through the
 * official client, which keeps every held message's lease alive (modAck)
 * until it is settled, up to `maxLeaseMs`. Flow control per subscription is
 * small (the server stops sending at `maxMessages` outstanding). Excess
 * messages of one batch are handed to the worker rather than held back
 * inside the client (`allowExcessMessages`): the worker can hand them back
 * at once when it stops, while the client's own hold would keep them leased
 * until its close timeout.
 */
import { type ClientConfig, Duration, type Message, PubSub } from '@google-cloud/pubsub';
import type { Priority } from './job.js';
import type { Delivery, LaneOptions, LaneSource, WorkerBackend } from './lane-source.js';

export interface PubSubBackendOptions {
  /** A client of your own (its project is used); else one is made from the rest. */
  pubsub?: PubSub;
  /** Project of the subscriptions (short subscription names are resolved in it). */
  projectId?: string;
  /** host:port of the Pub/Sub emulator (PUBSUB_EMULATOR_HOST). */
  emulatorHost?: string;
  /** Any other client option. */
  clientConfig?: ClientConfig;
  /** Jack's topic per priority (PUBSUB_TOPIC_*): where `createSubscriptions` attaches a lane. */
  topics?: Partial<Record<Priority, string>>;
}

/** A Pub/Sub filter that lets only these job types through (names are Jack's: letters, digits, `_`, `-`, `.`). */
export function jobTypeFilter(jobTypes: readonly string[]): string {
  return jobTypes.map((t) => `attributes.job_type = ${JSON.stringify(t)}`).join(' OR ');
}

/** A WorkerBackend over Google Cloud Pub/Sub. */
export function pubsubBackend(options: PubSubBackendOptions = {}): WorkerBackend {
  const owned = options.pubsub === undefined;
  const pubsub =
    options.pubsub ??
    new PubSub({
      ...options.clientConfig,
      ...(options.projectId === undefined ? {} : { projectId: options.projectId }),
      ...(options.emulatorHost === undefined
        ? {}
        : {
            apiEndpoint: options.emulatorHost,
            emulatorMode: true,
            // Stated so that the client does not probe the GCE metadata
            // server for it: the emulator needs no credentials.
            universeDomain: 'googleapis.com',
          }),
    });
  return {
    kind: 'pubsub',
    lane: (name, laneOptions) => pubsubLane(pubsub, name, laneOptions),
    async createLane(name, { priority, jobTypes, allowOutsideEmulator }) {
      if (options.emulatorHost === undefined && !allowOutsideEmulator) {
        throw new Error(
          'createSubscriptions is for development: refused without an emulator host (pass allowOutsideEmulator to create subscriptions in a real project)',
        );
      }
      // A priority without a topic of its own goes to the MEDIUM topic (SPEC §3).
      const topic = options.topics?.[priority] || options.topics?.medium;
      if (topic === undefined) {
        throw new Error(
          `createSubscriptions needs the topic of the ${priority} lane (topics.${priority})`,
        );
      }
      const [exists] = await pubsub.subscription(name).exists();
      if (exists) return;
      await pubsub.topic(topic).createSubscription(name, {
        ...(jobTypes === undefined || jobTypes.length === 0
          ? {}
          : { filter: jobTypeFilter(jobTypes) }),
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 60 } },
      });
    },
    async close() {
      if (owned) await pubsub.close();
    },
  };
}

function pubsubLane(pubsub: PubSub, name: string, options: LaneOptions): LaneSource {
  const subscription = pubsub.subscription(name, {
    flowControl: { maxMessages: options.maxMessages, allowExcessMessages: true },
    maxExtensionTime: Duration.from({ milliseconds: options.maxLeaseMs }),
    closeOptions: {
      // Wait for what the worker holds to be settled, then nack the rest.
      behavior: 'WAIT',
      timeout: Duration.from({ milliseconds: Math.max(options.closeTimeoutMs, 1_000) }),
    },
  });
  let onMessage: ((message: Message) => void) | undefined;
  let onStreamError: ((err: Error) => void) | undefined;
  return {
    start(onDelivery, onError) {
      onMessage = (message) => onDelivery(toDelivery(message));
      onStreamError = onError;
      subscription.on('error', onStreamError);
      subscription.on('message', onMessage);
    },
    async close() {
      // close() first: it stops the stream at once and waits for the held
      // messages. (Removing the last listener first would start the same
      // close without waiting for it, and the await below would return early.)
      await subscription.close();
      if (onMessage !== undefined) subscription.off('message', onMessage);
      if (onStreamError !== undefined) subscription.off('error', onStreamError);
    },
  };
}

function toDelivery(message: Message): Delivery {
  return {
    data: message.data,
    attributes: message.attributes ?? {},
    messageId: message.id,
    // The field is 0 unless the subscription has a dead-letter policy.
    deliveryAttempt: message.deliveryAttempt > 0 ? message.deliveryAttempt : undefined,
    ack: () => message.ack(),
    nack: () => message.nack(),
  };
}
