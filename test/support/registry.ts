/** Registry set-up through the admin API, as an operator would do it. */
import { type JobType, type Producer, Queue } from '../../src/gen/jack/storage.js';
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

/** A producer with every field empty: update requests spread it and set what they change. */
export const BLANK_PRODUCER: Readonly<Producer> = {
  producerId: '',
  name: '',
  description: '',
  rateLimitRps: 0,
  principals: [],
  createdAt: undefined,
  updatedAt: undefined,
};

/** A job type with every field empty, likewise. */
export const BLANK_JOB_TYPE: Readonly<JobType> = {
  producerId: '',
  name: '',
  queue: Queue.QUEUE_UNSPECIFIED,
  maxRetries: 0,
  description: '',
  createdAt: undefined,
  updatedAt: undefined,
};

/** Creates a producer named `name` through the admin API and returns it as stored. */
export async function createProducer(jack: RunningJack, name: string): Promise<Producer> {
  return (await call(jack.admin, 'createProducer', { name, description: '' })).producer as Producer;
}
