/**
 * The Backend contract (test/contract/backend.contract.ts) for every queue
 * backend: noop, Pub/Sub against the emulator and NATS against a real
 * nats-server (each with broken brokers for the error, timeout and close
 * guarantees).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createNatsBackend } from '../../src/queue/nats/backend.js';
import { createNoopBackend } from '../../src/queue/noop.js';
import { createPubSubBackend } from '../../src/queue/pubsub/backend.js';
import type { PubSubBackendConfig } from '../../src/queue/pubsub/topics.js';
import { type BackendFaults, describeBackendContract } from '../contract/backend.contract.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { type NatsServer, natsAvailable, startNatsServer } from '../support/nats.js';
import { createNatsStream } from '../support/nats-stream.js';
import { createPubSubFixture } from '../support/pubsub-topics.js';

const silent = pino({ level: 'silent' });
const PUBLISH_TIMEOUT_MS = 1_000;

describeBackendContract('noop', async () => ({
  open: async () => createNoopBackend(silent),
  dispose: async () => {},
}));

/** A TCP server that accepts connections and never says a word. */
async function mute(): Promise<{ host: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Pub/Sub at `host` without a topic check at startup (which would fail first). */
function backendAt(host: string, extra: Record<string, string> = {}) {
  const config = loadConfig({
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: 'contract',
    PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
    PUBSUB_EMULATOR_HOST: host,
    PUBSUB_VERIFY_TOPICS: 'false',
    PUBSUB_PUBLISH_TIMEOUT: `${PUBLISH_TIMEOUT_MS}ms`,
    ...extra,
  }).backend as PubSubBackendConfig;
  return createPubSubBackend({ config, logger: silent });
}

describe.skipIf(skipWithoutEmulator())('on the Pub/Sub emulator', () => {
  describeBackendContract(
    'pubsub',
    async () => {
      const pubsub = await createPubSubFixture(pubsubEmulatorHost());
      const config = loadConfig(pubsub.env()).backend as PubSubBackendConfig;
      return {
        open: () => createPubSubBackend({ config, logger: silent }),
        delivered: async (priority, count) =>
          (await pubsub.pull(priority, count)).map((m) => m.attributes.job_id ?? ''),
        dispose: () => pubsub.close(),
      };
    },
    async (): Promise<BackendFaults> => {
      const releases: (() => Promise<void>)[] = [];
      return {
        async unreachable() {
          // Bound, then closed: nothing listens on the port any more.
          const closed = await mute();
          await closed.close();
          return { backend: await backendAt(closed.host), timeoutMs: PUBLISH_TIMEOUT_MS };
        },
        async silent() {
          const server = await mute();
          releases.push(() => server.close());
          return { backend: await backendAt(server.host), timeoutMs: PUBLISH_TIMEOUT_MS };
        },
        async refusing() {
          // Topics for three priorities; the low one is configured but never created.
          const pubsub = await createPubSubFixture(pubsubEmulatorHost(), {
            priorities: ['immediate', 'high', 'medium'],
          });
          releases.push(() => pubsub.close());
          const config = loadConfig({ ...pubsub.env(), PUBSUB_VERIFY_TOPICS: 'false' })
            .backend as PubSubBackendConfig;
          return { backend: await createPubSubBackend({ config, logger: silent }), refused: 'low' };
        },
        async dispose() {
          for (const release of releases.splice(0)) await release();
        },
      };
    },
  );
});

describe.skipIf(!natsAvailable())('on a real nats-server', () => {
  // One server for the working fixtures (each uses a stream of its own); the
  // broken brokers get servers of their own, as they kill or stop them.
  let shared: Promise<NatsServer> | undefined;
  const server = () => {
    shared ??= startNatsServer();
    return shared;
  };
  afterAll(async () => {
    await (await shared)?.stop();
  });

  describeBackendContract(
    'nats',
    async () => {
      const stream = await createNatsStream((await server()).url);
      return {
        open: () => createNatsBackend({ config: stream.config(), logger: silent }),
        delivered: async (priority) =>
          (await stream.stored())
            .filter((job) => job.subject.startsWith(`${stream.prefix}.${priority}.`))
            .map((job) => job.headers.job_id ?? ''),
        dispose: () => stream.close(),
      };
    },
    async (): Promise<BackendFaults> => {
      const releases: (() => Promise<void>)[] = [];
      const own = async () => {
        const nats = await startNatsServer();
        releases.push(() => nats.stop());
        const stream = await createNatsStream(nats.url);
        releases.unshift(() => stream.close());
        const backend = await createNatsBackend({ config: stream.config(), logger: silent });
        return { nats, stream, backend };
      };
      return {
        async unreachable() {
          const { nats, backend } = await own();
          await nats.kill();
          return { backend, timeoutMs: PUBLISH_TIMEOUT_MS };
        },
        async silent() {
          const { nats, backend } = await own();
          await nats.pause();
          releases.unshift(async () => nats.resume());
          return { backend, timeoutMs: PUBLISH_TIMEOUT_MS };
        },
        async refusing() {
          // The stream stops covering the low lane, which a stream of its own
          // takes over that refuses every message for good (none is that small).
          const { stream, backend } = await own();
          const info = await stream.jsm.streams.info(stream.stream);
          await stream.jsm.streams.update(stream.stream, {
            ...info.config,
            subjects: (['immediate', 'high', 'medium'] as const).map(
              (p) => `${stream.prefix}.${p}.>`,
            ),
          });
          await stream.jsm.streams.add({
            name: `${stream.stream}_LOW`,
            subjects: [`${stream.prefix}.low.>`],
            max_msg_size: 1,
          });
          return { backend, refused: 'low' };
        },
        async dispose() {
          for (const release of releases.splice(0)) await release();
        },
      };
    },
  );
});
