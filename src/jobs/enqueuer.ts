/**
 * Enqueue logic, independent of gRPC: validate a request, route it (job-type
 * registry or legacy payload routing), give it an id, encode it, and hand it
 * to the backend (now) or the scheduler (future). Enqueue and EnqueueBulk
 * share every step, so a job is treated the same either way.
 */

import { producerLabel, type RateLimit } from '../admission/rate-limit.js';
import type { Config } from '../config/index.js';
import type { CallContext } from '../context.js';
import { isJackError } from '../errors.js';
import type { JobIdGenerator } from '../jobid/job-id.js';
import type { Metrics } from '../metrics.js';
import type { Backend, Job } from '../queue/backend.js';
import { encodeMessage } from '../queue/message.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../storage/store.js';
import { enqueueBulk } from './bulk.js';
import { type RoutingLookups, routeJob } from './routing.js';
import {
  dispatchFailed,
  type JobSteps,
  type Prepared,
  recordOutcome,
  throwIfCancelled,
} from './steps.js';
import type { Claimed, EnqueueInput, JobPath } from './types.js';
import { validateJobFields } from './validate.js';

export interface EnqueuerDeps {
  config: Pick<
    Config,
    'maxPayloadBytes' | 'legacyPayloadQueueRouting' | 'messageFormat' | 'scheduleThresholdMs'
  >;
  store: Store;
  backend: Backend;
  scheduler: Scheduler | undefined;
  ids: JobIdGenerator;
  metrics: Metrics;
  /** Current time; tests may fix it. */
  now?: () => number;
  /** identity (SPEC §7): may this call's principal act for the producer? Throws `permission_denied`. Unset = AUTH_MODE=off. */
  authorize?: (producerId: string, ctx: CallContext) => void;
  /** SPEC §8 VALIDATION_MODE; default warn. */
  validationMode?: 'warn' | 'enforce';
  /** SPEC §8 rate limits (and admission metrics), asked once per call; undefined = none. */
  rateLimit?: RateLimit;
}

/**
 * The enqueue path below the idempotency step: check, route, encode, admit,
 * dispatch. A job without a key gets a fresh id here; a keyed one comes
 * with the claim of its key (idempotent.ts, composed around this in app.ts).
 */
export function createEnqueuer(deps: EnqueuerDeps): JobPath {
  const { config, store, backend, scheduler, ids, metrics } = deps;
  const now = deps.now ?? Date.now;

  /** Authorization, then the field checks (SPEC §2.1); the first failure is thrown. */
  const checkJob = (input: EnqueueInput, ctx: CallContext): void => {
    deps.authorize?.(input.producerId, ctx); // before any check: a job it may not send reveals nothing
    validateJobFields(input, config.maxPayloadBytes);
  };

  const newJobId = (input: EnqueueInput): string =>
    ids.next(input.producerId, input.jobType, now());

  /**
   * Validates and routes one job. Throws JackError; `warnings` is filled as
   * it goes. A claimed job was checked before its key was looked at.
   */
  const prepare = (
    input: EnqueueInput,
    ctx: CallContext,
    warnings: string[],
    lookups: RoutingLookups = store,
    claimed?: Claimed,
  ): Prepared => {
    if (claimed === undefined) checkJob(input, ctx);

    const { priority, maxRetries, fromPayload } = routeJob(
      lookups,
      input.producerId,
      input.jobType,
      input.payload,
      config.legacyPayloadQueueRouting,
      warnings,
      deps.validationMode,
    );
    if (fromPayload) {
      metrics.legacyRouted({ producerId: input.producerId, jobType: input.jobType, priority });
    }

    const nowMs = now();
    const createdAt = new Date(nowMs);
    const runAt = input.runAt ?? createdAt;
    const job: Job = {
      id: claimed?.jobId ?? ids.next(input.producerId, input.jobType, nowMs),
      producerId: input.producerId,
      jobType: input.jobType,
      priority,
      payload: input.payload,
      runAt,
      createdAt,
      traceId: input.traceId,
      correlationId: input.correlationId,
      maxRetries,
      shadow: ctx.shadow,
    };
    const message = encodeMessage(job, config.messageFormat, createdAt);
    const scheduled =
      scheduler !== undefined && runAt.getTime() >= nowMs + config.scheduleThresholdMs;
    return {
      message,
      runAt,
      scheduled,
      producerId: input.producerId,
      jobType: input.jobType,
      priority,
      payloadBytes: input.payload.length,
    };
  };

  /** Hands a prepared job to the scheduler or the backend; resolves once accepted. */
  const dispatch = (prepared: Prepared): Promise<void> => {
    const { message } = prepared;
    if (prepared.scheduled && scheduler !== undefined) return schedule(prepared);
    const started = performance.now();
    let publishing: Promise<unknown>;
    try {
      publishing = backend.publish(message);
    } catch (err) {
      publishing = Promise.reject(err);
    }
    // Promise callbacks, not an async frame: this runs once per job (hot path).
    return publishing.then(
      () => {
        metrics.publishFinished(message.priority, true, (performance.now() - started) / 1000);
      },
      (err: unknown) => {
        metrics.publishFinished(message.priority, false, (performance.now() - started) / 1000);
        throw err;
      },
    );
  };

  const schedule = async ({ message, runAt, payloadBytes }: Prepared): Promise<void> => {
    const started = performance.now();
    try {
      await scheduler?.schedule(message, runAt, payloadBytes);
    } catch (err) {
      const tooLarge = isJackError(err) && err.reason === 'payload_too_large';
      metrics.scheduleFinished(false, 0, tooLarge ? 'too_large' : 'create');
      throw err;
    }
    metrics.scheduleFinished(true, (performance.now() - started) / 1000);
  };

  /** Counts a job refused by admission control (SPEC §8 metrics). */
  const noteRefusal = (err: unknown, producerId: string) => {
    if (isJackError(err) && err.reason === 'unregistered') {
      metrics.jobsRejected(producerLabel(store, producerId), 'unregistered', 1);
    }
  };

  /** Records a job of Enqueue refused before dispatch; returns the error to throw. */
  const refused = (err: unknown, producerId: string): unknown => {
    recordOutcome(metrics, undefined, err);
    noteRefusal(err, producerId);
    return err;
  };

  /** Dispatches one prepared job of Enqueue and counts its outcome. */
  const dispatchOne = (
    prepared: Prepared,
    warnings: string[],
    started: number,
  ): Promise<{ jobId: string; warnings: string[] }> =>
    dispatch(prepared).then(
      () => {
        metrics.jobDispatched('Enqueue', prepared, true, (performance.now() - started) / 1000);
        recordOutcome(metrics, prepared, undefined);
        return { jobId: prepared.message.jobId, warnings };
      },
      (err: unknown) => {
        const error = dispatchFailed(metrics, 'Enqueue', prepared, err);
        recordOutcome(metrics, prepared, error);
        throw error;
      },
    );

  const bulkDeps = { store, backend, metrics, rateLimit: deps.rateLimit };
  const steps: JobSteps = { prepare, dispatch, noteRefusal };
  return {
    check: checkJob,
    newJobId,
    // Not async: a job that needs no rate-limit wait costs one promise
    // callback after the backend's promise (hot path).
    enqueue(input, ctx, claimed) {
      const started = performance.now();
      const warnings: string[] = [];
      let prepared: Prepared;
      let admitting: ReturnType<RateLimit['admit']>;
      try {
        prepared = prepare(input, ctx, warnings, store, claimed);
        throwIfCancelled(ctx);
        // Off, admit() returns no promise: nothing to wait for on the hot path.
        admitting = deps.rateLimit?.admit([input.producerId]);
      } catch (err) {
        return Promise.reject(refused(err, input.producerId));
      }
      if (admitting === undefined) return dispatchOne(prepared, warnings, started);
      return admitting.then(
        (refusals) => {
          const refusal = refusals?.[0];
          if (refusal !== undefined) throw refused(refusal, input.producerId);
          return dispatchOne(prepared, warnings, started);
        },
        (err: unknown) => {
          throw refused(err, input.producerId);
        },
      );
    },

    enqueueMany(inputs, ctx, claimed) {
      return enqueueBulk(bulkDeps, steps, inputs, ctx, claimed);
    },
  };
}
