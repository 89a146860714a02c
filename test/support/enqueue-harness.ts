/**
 * The Enqueue tests' harness: a Jack with a recording backend, registry
 * set-up through the admin API, and the usual request.
 */
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import type { Queue } from '../../src/gen/jack/storage.js';
import { call, enqueueRequest, type RunningJack, startJack } from './jack.js';
import { createRecordingBackend, type RecordingBackend } from './recording-backend.js';

/** A request of the Enqueue tests' usual producer and job type, then `fields`. */
export const job = (fields: Partial<EnqueueRequest> = {}): EnqueueRequest =>
  enqueueRequest({
    producerId: 'prod_unknown',
    jobType: 'send_email',
    payload: Buffer.from('{"to":"a@example.com"}'),
    ...fields,
  });

export interface Harness {
  jack: RunningJack;
  backend: RecordingBackend;
}

export async function startWithRecorder(env: Record<string, string> = {}): Promise<Harness> {
  const backend = createRecordingBackend();
  const jack = await startJack(env, { backend });
  return { jack, backend };
}

/** Registers a producer and returns its id. */
export async function createProducerId(jack: RunningJack, name = 'billing'): Promise<string> {
  const res = await call(jack.admin, 'createProducer', { name, description: '' });
  return res.producer?.producerId ?? '';
}

export async function createJobType(
  jack: RunningJack,
  producerId: string,
  name: string,
  queue: Queue,
  maxRetries: number,
): Promise<void> {
  await call(jack.admin, 'createJobType', {
    producerId,
    name,
    queue,
    maxRetries,
    description: '',
  });
}
