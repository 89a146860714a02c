import type { OutboundMessage, Priority } from '../queue/backend.js';

/**
 * What a scheduler needs from the queue backend: the HTTP request that, sent
 * when a scheduled job fires, publishes the message exactly as an immediate
 * publish would. The scheduler sees only this interface, so any backend with
 * an HTTP publish endpoint can be scheduled; no client or backend config type
 * crosses it.
 */
export interface PublishTarget {
  /** Short name for logs, e.g. `pubsub`. */
  readonly kind: string;
  /** The publish endpoint of the topic of `priority`. */
  url(priority: Priority): string;
  /** Request body that publishes `message` (data and attributes as an immediate publish). */
  body(message: OutboundMessage): Buffer;
  /** Headers the request carries besides authentication. */
  readonly headers: Readonly<Record<string, string>>;
  /** OAuth scope of the token the scheduler attaches to the request. */
  readonly oauthScope: string;
}
