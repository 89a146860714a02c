/**
 * A queue backend of our own `Backend` interface that keeps every message it
 * accepted, so tests can see exactly what would land on a topic (priority,
 * data, attributes) without a broker. It can be told to refuse messages with
 * a chosen error to exercise the error mapping.
 */
import { JackError } from '../../src/errors.js';
import type { Backend, OutboundMessage } from '../../src/queue/backend.js';

/** How a refused publish fails: `unavailable` (retryable) or any other error. */
export type PublishFailure = 'unavailable' | 'internal' | 'plain-error';

export interface RecordingBackend extends Backend {
  /** Messages accepted so far, in the order they were published. */
  readonly published: OutboundMessage[];
  /**
   * Decides, per message, whether it is refused and how; `undefined` accepts.
   * Replace it to make the backend fail.
   */
  failWith: (message: OutboundMessage) => PublishFailure | undefined;
  /** The last accepted message; throws when nothing was published. */
  last(): OutboundMessage;
  /** Forgets the recorded messages and accepts everything again. */
  reset(): void;
}

function failure(kind: PublishFailure, message: OutboundMessage): Error {
  switch (kind) {
    case 'unavailable':
      return new JackError('unavailable', `broker unreachable for ${message.jobId}`);
    case 'internal':
      return new JackError('internal', `broker refused ${message.jobId}`);
    case 'plain-error':
      // Not a JackError: the enqueuer must still turn it into INTERNAL.
      return new Error(`unexpected failure for ${message.jobId}`);
  }
}

export function createRecordingBackend(): RecordingBackend {
  const published: OutboundMessage[] = [];
  let sequence = 0;
  const backend: RecordingBackend = {
    kind: 'recording',
    published,
    failWith: () => undefined,
    async publish(message) {
      const kind = backend.failWith(message);
      if (kind !== undefined) throw failure(kind, message);
      published.push(message);
      sequence += 1;
      return `recorded-${sequence}`;
    },
    publishMany(messages) {
      return Promise.allSettled(messages.map((m) => backend.publish(m)));
    },
    async check() {},
    async close() {},
    last() {
      const message = published.at(-1);
      if (message === undefined) throw new Error('the recording backend has no message');
      return message;
    },
    reset() {
      published.length = 0;
      backend.failWith = () => undefined;
    },
  };
  return backend;
}
