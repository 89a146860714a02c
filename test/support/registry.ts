/** Registry set-up through the admin API, as an operator would do it. */
import type { Queue } from '../../src/gen/jack/storage.js';
import { call, type RunningJack } from './jack.js';

/** Creates producer `producer` and its job type `jobType`; returns the new producer id. */
export async function createProducerWithJobType(
  jack: RunningJack,
  options: { producer: string; jobType: string; queue: Queue; maxRetries: number },
): Promise<string> {
  const created = await call(jack.admin, 'createProducer', {
    name: options.producer,
    description: '',
  });
  const producerId = created.producer?.producerId ?? '';
  await call(jack.admin, 'createJobType', {
    producerId,
    name: options.jobType,
    queue: options.queue,
    maxRetries: options.maxRetries,
    description: '',
  });
  return producerId;
}
