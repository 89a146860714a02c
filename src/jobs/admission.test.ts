/**
 * The enqueuer's SPEC §8 hooks: VALIDATION_MODE=enforce in routing, and one
 * rate-limit decision per call in which refused, invalid and scheduled jobs
 * are each handled once.
 */
import { describe, expect, it } from 'vitest';
import { jobInput } from '../../test/support/job-input.js';
import { createRecordingBackend } from '../../test/support/recording-backend.js';
import { createMemoryLimiter } from '../admission/memory.js';
import { createRateLimit } from '../admission/rate-limit.js';
import { internalContext } from '../context.js';
import { isJackError } from '../errors.js';
import { createJobIdGenerator } from '../jobid/job-id.js';
import { createLogger } from '../logger.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import type { OutboundMessage } from '../queue/backend.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { createMemoryStore } from '../storage/memory.js';
import { createEnqueuer } from './enqueuer.js';
import type { EnqueueInput } from './types.js';

const NOW = Date.parse('2026-11-22T10:00:00.000Z');

async function setup(options: { validationMode?: 'warn' | 'enforce'; defaultRps?: number }) {
  const backend = createRecordingBackend();
  const scheduled: OutboundMessage[] = [];
  const scheduler: Scheduler = {
    kind: 'recording',
    async schedule(message) {
      scheduled.push(message);
    },
    async cancel() {},
    async check() {},
    async close() {},
  };
  const store = await createMemoryStore({ logger: createLogger({ level: 'silent' }) });
  const rejected: [string, string, number][] = [];
  const metrics: Metrics = {
    ...noopMetrics,
    jobsRejected: (producer, reason, count) => rejected.push([producer, reason, count]),
  };
  const rateLimit =
    options.defaultRps === undefined
      ? undefined
      : createRateLimit({
          store,
          limiter: createMemoryLimiter({ now: () => 0 }),
          defaultRps: options.defaultRps,
          metrics,
        });
  const enqueuer = createEnqueuer({
    config: {
      maxPayloadBytes: 1000,
      legacyPayloadQueueRouting: true,
      messageFormat: 'native',
      scheduleThresholdMs: 60_000,
    },
    store,
    backend,
    scheduler,
    ids: createJobIdGenerator(),
    metrics,
    now: () => NOW,
    validationMode: options.validationMode,
    rateLimit,
  });
  return { enqueuer, backend, scheduled, rejected };
}

function input(fields: Partial<EnqueueInput> = {}): EnqueueInput {
  return jobInput({ producerId: 'prod_x', jobType: 'type_x', ...fields });
}

describe('enqueuer with VALIDATION_MODE=enforce', () => {
  it('refuses an unregistered producer with NOT_FOUND, reason unregistered, and counts it', async () => {
    const { enqueuer, backend, rejected } = await setup({ validationMode: 'enforce' });
    const err = await enqueuer.enqueue(input(), internalContext()).catch((e: unknown) => e);
    expect(isJackError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toBe('unregistered producer_id: prod_x');
    expect(isJackError(err) && err.reason).toBe('unregistered');
    expect(backend.published).toHaveLength(0);
    expect(rejected).toEqual([['(unregistered)', 'unregistered', 1]]);
  });

  it('keeps warn mode as before: accepted with both warnings', async () => {
    const { enqueuer } = await setup({ validationMode: 'warn' });
    const { warnings } = await enqueuer.enqueue(input(), internalContext());
    expect(warnings).toEqual([
      'unregistered producer_id: prod_x',
      'unregistered job_type: type_x (producer: prod_x)',
    ]);
  });
});

describe('enqueuer with a rate limit', () => {
  it('takes tokens only for valid jobs, in call order, and never schedules a refused job', async () => {
    const { enqueuer, backend, scheduled, rejected } = await setup({ defaultRps: 2 });
    const future = new Date(NOW + 3_600_000);
    const outcomes = await enqueuer.enqueueMany(
      [
        input(),
        input({ jobType: '' }), // invalid: refused before the limiter, takes no token
        input({ runAt: future }), // scheduled, second token
        input({ runAt: future }), // over the limit: must not reach the scheduler
        input(),
      ],
      internalContext(),
    );
    expect(outcomes.map((o) => o.error?.reason)).toEqual([
      undefined,
      'validation_error',
      undefined,
      'rate_limited',
      'rate_limited',
    ]);
    expect(outcomes[3]?.jobId).toBe('');
    expect(outcomes[3]?.error?.retryDelayMs).toBe(500);
    expect(backend.published).toHaveLength(1);
    expect(scheduled).toHaveLength(1);
    expect(rejected).toEqual([['(unregistered)', 'rate_limited', 2]]);
  });

  it('refuses a single Enqueue over the limit with RESOURCE_EXHAUSTED', async () => {
    const { enqueuer } = await setup({ defaultRps: 1 });
    await enqueuer.enqueue(input(), internalContext());
    const err = await enqueuer.enqueue(input(), internalContext()).catch((e: unknown) => e);
    expect(isJackError(err, 'resource_exhausted')).toBe(true);
    expect((err as Error).message).toBe('rate limit exceeded for producer prod_x (1 jobs/s)');
  });
});
