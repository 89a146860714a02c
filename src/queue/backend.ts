/**
 * Terminology
 * - producer: an application that enqueues jobs, registered with an id `prod_…`.
 * - job type: a named kind of job of one producer; decides priority and retries.
 * - job: one unit of work: producer, job type, opaque payload, run time.
 * - priority: immediate (≤5 s), high (≤15 s), medium (≤1 min) or low (≤5 min).
 * - topic: the queue of one priority on the broker (e.g. a Pub/Sub topic).
 * - backend: delivers encoded jobs to the topic of their priority (this file).
 * - store: holds producers and job types (`storage/store.ts`).
 * - scheduler: holds jobs whose run time is in the future (`scheduler/scheduler.ts`).
 */

import type { Priority } from '../priority.js';

// Every place that sends or delivers jobs names priorities through here.
export { PRIORITIES, type Priority } from '../priority.js';

/** A validated, routed job, ready to be encoded. */
export interface Job {
  id: string;
  producerId: string;
  jobType: string;
  priority: Priority;
  payload: Buffer;
  runAt: Date;
  createdAt: Date;
  /** '' when the caller sent none. */
  traceId: string;
  /** '' when the caller sent none. */
  correlationId: string;
  maxRetries: number;
  shadow: boolean;
}

/** A job encoded for the broker: exactly what lands on the topic. */
export interface OutboundMessage {
  jobId: string;
  priority: Priority;
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
}

/**
 * Publishes encoded jobs to the topic of their priority. The adapter owns its
 * client(s); no client type crosses this interface.
 *
 * Errors are `JackError`s: `unavailable` when the broker cannot be reached or
 * did not answer in time (the caller may retry), `internal` otherwise.
 *
 * @remarks Deliberately not part of this contract: topic administration,
 * subscriptions, ordering keys, and anything about consuming jobs.
 */
export interface Backend {
  /** Short name for logs and metrics, e.g. `pubsub`. */
  readonly kind: string;
  /**
   * Resolves with the broker's message id once the broker has durably
   * accepted the message; never resolves earlier. Every wait is bounded.
   */
  publish(message: OutboundMessage): Promise<string>;
  /**
   * Publishes concurrently; one settled result per message, in order. A
   * failure of one message does not affect the others.
   */
  publishMany(messages: readonly OutboundMessage[]): Promise<PromiseSettledResult<string>[]>;
  /** Resolves when the topics are reachable; rejects with a JackError otherwise. */
  check(): Promise<void>;
  /** Flushes buffered messages, then releases clients. Safe to call twice. */
  close(): Promise<void>;
}
