import type { OutboundMessage } from '../queue/backend.js';

/**
 * Holds jobs whose run time is in the future and publishes them, exactly as
 * an immediate publish would, when that time comes. Jack need not be running
 * then.
 *
 * Errors are `JackError`s: `invalid_argument` (reason `payload_too_large` or
 * `validation_error`) for a job the scheduler can never hold, `unavailable`
 * for transport failures, `internal` otherwise.
 *
 * @remarks Deliberately not part of this contract: listing scheduled jobs and
 * changing a job's time (cancel, then enqueue again).
 */
export interface Scheduler {
  readonly kind: string;
  /**
   * Stores the message for publication at `runAt`. Resolves once stored
   * durably. Scheduling the same job id twice stores it once and succeeds.
   * `payloadBytes` is the job's payload size, for a scheduler that records
   * the job (the message's data may be the legacy envelope).
   */
  schedule(message: OutboundMessage, runAt: Date, payloadBytes?: number): Promise<void>;
  /** Deletes a job not yet published; throws JackError not_found when there is none. */
  cancel(jobId: string): Promise<void>;
  /** Resolves when the scheduler is reachable. */
  check(): Promise<void>;
  /** Releases clients. Safe to call twice. */
  close(): Promise<void>;
}
