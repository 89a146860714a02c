/**
 * The scheduler's side of SPEC §11: a producer span when a future job is
 * handed to the scheduler, and that span's context in the attributes of the
 * message the scheduler will publish later, so the consumer's trace still
 * starts from the call that enqueued the job.
 */
import type { Tracer } from '@opentelemetry/api';
import type { Priority } from '../queue/backend.js';
import { endProducerSpan, startProducerSpan } from '../queue/traced-backend.js';
import type { Scheduler } from './scheduler.js';

export function tracedScheduler(
  inner: Scheduler,
  tracer: Tracer,
  destination: (priority: Priority) => string,
): Scheduler {
  // "create": the message is made now and sent later (messaging conventions).
  const create = { name: 'schedule', type: 'create' } as const;
  return {
    kind: inner.kind,
    async schedule(message, runAt, payloadBytes) {
      const { span, carried } = startProducerSpan(
        tracer,
        message,
        destination(message.priority),
        create,
        { 'jack.run_at': runAt.toISOString() },
      );
      try {
        await inner.schedule(carried, runAt, payloadBytes);
        endProducerSpan(span, { status: 'fulfilled', value: undefined });
      } catch (err) {
        endProducerSpan(span, { status: 'rejected', reason: err });
        throw err;
      }
    },
    cancel: (jobId) => inner.cancel(jobId),
    check: () => inner.check(),
    close: () => inner.close(),
  };
}
