/**
 * EnqueueBulk (SPEC §2): every job is prepared first, the call is admitted at
 * once (SPEC §8), scheduled jobs go to the scheduler one by one and the rest
 * to the backend in one `publishMany`. Each job gets its own outcome.
 */
import type { RateLimit } from '../admission/rate-limit.js';
import type { CallContext } from '../context.js';
import type { Metrics } from '../metrics.js';
import type { Backend, OutboundMessage } from '../queue/backend.js';
import type { Store } from '../storage/store.js';
import { rememberingLookups } from './routing.js';
import {
  asJackError,
  cancelled,
  dispatchFailed,
  type JobSteps,
  type Prepared,
  recordOutcome,
} from './steps.js';
import type { Claimed, EnqueueInput, EnqueueOutcome } from './types.js';

export interface BulkDeps {
  store: Store;
  backend: Backend;
  metrics: Metrics;
  rateLimit: RateLimit | undefined;
}

/** Enqueues many jobs concurrently; one outcome per input, in order. */
export async function enqueueBulk(
  deps: BulkDeps,
  steps: JobSteps,
  inputs: readonly EnqueueInput[],
  ctx: CallContext,
  claimed: readonly (Claimed | undefined)[] = [],
): Promise<EnqueueOutcome[]> {
  const { store, backend, metrics, rateLimit } = deps;
  const { prepare, dispatch, noteRefusal } = steps;
  const lookups = rememberingLookups(store);
  const outcomes: EnqueueOutcome[] = new Array(inputs.length);
  const preparedJobs: (Prepared | undefined)[] = new Array(inputs.length);
  /** The jobs handed to the backend or scheduler, by index: what their outcome is recorded against. */
  const dispatched: (Prepared | undefined)[] = new Array(inputs.length);
  /** Records every job's outcome, once, then answers (or throws). */
  const finish = (): EnqueueOutcome[] => {
    for (let i = 0; i < inputs.length; i++) {
      recordOutcome(metrics, dispatched[i], outcomes[i]?.error);
    }
    return outcomes;
  };

  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as EnqueueInput;
    const warnings: string[] = [];
    try {
      const prepared = prepare(input, ctx, warnings, lookups, claimed[i]);
      outcomes[i] = { jobId: prepared.message.jobId, warnings, error: undefined };
      preparedJobs[i] = prepared;
    } catch (err) {
      noteRefusal(err, input.producerId);
      outcomes[i] = { jobId: '', warnings, error: asJackError(err) };
    }
  }
  if (ctx.cancelled) {
    // The caller is gone: publish nothing it can no longer be told about.
    // Each job it would have published is refused, as in Enqueue.
    const error = cancelled();
    for (const outcome of outcomes) {
      if (outcome.error === undefined) outcome.error = error;
    }
    finish();
    throw error;
  }
  // SPEC §8: the whole call takes its tokens at once; jobs over a limit fail alone.
  const refusals = await rateLimit?.admit(
    preparedJobs.map((p, i) => (p === undefined ? undefined : inputs[i]?.producerId)),
  );
  const toPublish: OutboundMessage[] = [];
  const publishIndex: number[] = [];
  const scheduling: Promise<void>[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const prepared = preparedJobs[i];
    const outcome = outcomes[i] as EnqueueOutcome;
    if (prepared === undefined) continue;
    const refusal = refusals?.[i];
    if (refusal !== undefined) {
      outcome.jobId = '';
      outcome.error = refusal;
      continue;
    }
    dispatched[i] = prepared;
    if (prepared.scheduled) {
      scheduling.push(
        dispatch(prepared).then(
          () => metrics.jobDispatched('EnqueueBulk', prepared, true, 0),
          (err: unknown) => {
            outcome.jobId = '';
            outcome.error = dispatchFailed(metrics, 'EnqueueBulk', prepared, err);
          },
        ),
      );
    } else {
      toPublish.push(prepared.message);
      publishIndex.push(i);
    }
  }
  const started = performance.now();
  const [published] = await Promise.all([backend.publishMany(toPublish), Promise.all(scheduling)]);
  const seconds = (performance.now() - started) / 1000;
  for (let k = 0; k < published.length; k++) {
    const result = published[k] as PromiseSettledResult<string>;
    const i = publishIndex[k] as number;
    const prepared = dispatched[i] as Prepared;
    const outcome = outcomes[i] as EnqueueOutcome;
    metrics.publishFinished(
      prepared.message.priority,
      result.status === 'fulfilled',
      seconds,
      true,
    );
    metrics.jobDispatched('EnqueueBulk', prepared, result.status === 'fulfilled', seconds);
    if (result.status === 'rejected') {
      outcome.jobId = '';
      outcome.error = asJackError(result.reason);
    }
  }
  return finish();
}
