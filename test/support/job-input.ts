/** One job as the enqueuer takes it, with every field filled; tests override what they look at. */
import type { EnqueueInput } from '../../src/jobs/types.js';

export function jobInput(fields: Partial<EnqueueInput> = {}): EnqueueInput {
  return {
    producerId: 'prod_1',
    jobType: 'type_1',
    payload: Buffer.from('{}'),
    runAt: undefined,
    traceId: '',
    correlationId: '',
    ...fields,
  };
}
