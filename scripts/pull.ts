/**
 * `npm run pull -- <immediate|high|medium|low> [max]`: pulls (and acks) the
 * messages waiting on that priority's subscription of the `make dev` setup
 * and prints one JSON line each: id, attributes, data (UTF-8 text, or base64
 * when the payload is binary).
 *
 * Environment: PUBSUB_EMULATOR_HOST (default 127.0.0.1:8085), PUBSUB_PROJECT
 * (default jack-dev), PUBSUB_TOPIC_<PRIORITY> (default jack-<priority>); the
 * subscription is `<topic>-sub`, as `make dev` creates it.
 *
 * Runs on Node 24's type stripping, so it imports packages and plain,
 * dependency-free .ts files only.
 */
import { isUtf8 } from 'node:buffer';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { emulatorClientOptions } from '../test/support/pubsub-emulator.ts';

const PRIORITIES = ['immediate', 'high', 'medium', 'low'];

async function main(): Promise<void> {
  const [priority = '', maxText = '100'] = process.argv.slice(2);
  if (!PRIORITIES.includes(priority)) {
    throw new Error(`usage: npm run pull -- <${PRIORITIES.join('|')}> [max]`);
  }
  const max = Number(maxText);
  const host = process.env.PUBSUB_EMULATOR_HOST ?? '127.0.0.1:8085';
  const project = process.env.PUBSUB_PROJECT ?? 'jack-dev';
  const topic = process.env[`PUBSUB_TOPIC_${priority.toUpperCase()}`] ?? `jack-${priority}`;
  const subscription = `projects/${project}/subscriptions/${topic}-sub`;

  const client = new PubSub(emulatorClientOptions(project, host));
  const subscriber = new v1.SubscriberClient(
    (await client.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0],
  );
  try {
    const received = await subscriber
      .pull({ subscription, maxMessages: max }, { timeout: 2_000, retry: null })
      .then(
        ([response]) => response.receivedMessages ?? [],
        (err: unknown) => {
          // The emulator holds a pull open until something arrives: none in time = empty.
          if ((err as { code?: number }).code === 4) return [];
          throw err;
        },
      );
    for (const { message } of received) {
      const data = Buffer.from(message?.data ?? new Uint8Array());
      const line = {
        id: message?.messageId,
        attributes: message?.attributes ?? {},
        ...(isUtf8(data)
          ? { data: data.toString('utf8') }
          : { dataBase64: data.toString('base64') }),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    if (received.length > 0) {
      await subscriber.acknowledge({ subscription, ackIds: received.map((r) => r.ackId ?? '') });
    }
    process.stderr.write(`${received.length} message(s) from ${subscription}\n`);
  } finally {
    await subscriber.close();
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pull: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
