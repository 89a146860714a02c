/**
 * Worker tests' Pub/Sub: a project of its own on the emulator, one topic
 * and one subscription per priority with a short ack deadline and a retry
 * policy with a small backoff (so a nacked job comes back quickly), a
 * publisher for hand-made messages, and Jack (in-process, memory ledger)
 * publishing to those topics with one job type per lane.
 */
import { PubSub } from '@google-cloud/pubsub';
import { expect, inject } from 'vitest';
import {
  createJackClient,
  type JackClient,
  JobState,
  type Job as LedgerJob,
  Queue,
} from '../../src/client/index.js';
import {
  createWorker,
  pubsubBackend,
  type Worker,
  type WorkerBackend,
  type WorkerOptions,
} from '../../src/worker/index.js';
import { PRIORITIES, type Priority } from '../../src/worker/job.js';
import { uniqueName } from './emulator.js';
import { eventually } from './eventually.js';
import { call, type RunningJack, startJack } from './jack.js';
import { createDatabase, postgresAvailable } from './postgres.js';
import { emulatorClientOptions } from './pubsub-emulator.js';

export const QUEUE_OF: Record<Priority, Queue> = {
  immediate: Queue.QUEUE_IMMEDIATE,
  high: Queue.QUEUE_HIGH,
  medium: Queue.QUEUE_MEDIUM,
  low: Queue.QUEUE_LOW,
};

export interface WorkerLanes {
  host: string;
  project: string;
  /** Subscription name per priority: the worker's lanes. */
  lanes: Record<Priority, string>;
  /** Env of a Jack (or `jack work`) on this project. */
  env(): Record<string, string>;
  /** A fresh worker backend on this project. */
  backend(): ReturnType<typeof pubsubBackend>;
  /** Publishes a hand-made message to the topic of `priority`. */
  publish(priority: Priority, data: Buffer, attributes: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export async function createWorkerLanes(host: string): Promise<WorkerLanes> {
  const project = uniqueName('jack-worker');
  const client = new PubSub(emulatorClientOptions(project, host));
  const lanes = {} as Record<Priority, string>;
  for (const p of PRIORITIES) {
    const [topic] = await client.createTopic(`jobs-${p}`);
    lanes[p] = `work-${p}`;
    await topic.createSubscription(lanes[p], {
      ackDeadlineSeconds: 10,
      retryPolicy: { minimumBackoff: { nanos: 100_000_000 }, maximumBackoff: { seconds: 1 } },
    });
  }
  return {
    host,
    project,
    lanes,
    env() {
      const env: Record<string, string> = {
        QUEUE_BACKEND: 'pubsub',
        PUBSUB_PROJECT: project,
        PUBSUB_EMULATOR_HOST: host,
      };
      for (const p of PRIORITIES) env[`PUBSUB_TOPIC_${p.toUpperCase()}`] = `jobs-${p}`;
      return env;
    },
    backend: () => pubsubBackend({ projectId: project, emulatorHost: host }),
    publish: (priority, data, attributes) =>
      client.topic(`jobs-${priority}`).publishMessage({ data, attributes }),
    async close() {
      for (const p of PRIORITIES) {
        await client
          .subscription(lanes[p])
          .delete()
          .catch(() => {});
        await client
          .topic(`jobs-${p}`)
          .delete()
          .catch(() => {});
      }
      await client.close();
    },
  };
}

export interface JackForWorkers {
  jack: RunningJack;
  client: JackClient;
  producerId: string;
  /** Job type per priority (`work_<priority>`), each routed to its lane. */
  types: Record<Priority, string>;
}

/** Jack publishing to `lanes`' topics, a producer and one job type per lane (max_retries `maxRetries`). */
export async function startJackForWorkers(
  lanes: Pick<WorkerLanes, 'env'>,
  maxRetries = 2,
  env: Record<string, string> = {},
): Promise<JackForWorkers> {
  const jack = await startJack({ ...lanes.env(), LOG_LEVEL: 'warn', ...env });
  const { producer } = await call(jack.admin, 'createProducer', {
    name: 'workers',
    description: '',
  });
  const producerId = producer?.producerId as string;
  const types = {} as Record<Priority, string>;
  for (const p of PRIORITIES) {
    types[p] = `work_${p}`;
    await call(jack.admin, 'createJobType', {
      producerId,
      name: types[p],
      queue: QUEUE_OF[p],
      maxRetries,
      description: '',
    });
  }
  const client = createJackClient({ addr: jack.address });
  return { jack, client, producerId, types };
}

/** Whether PostgreSQL is here; without it, says so loudly (and fails under CI=true). */
export function requirePostgres(what: string): boolean {
  if (postgresAvailable()) return true;
  const message = `PostgreSQL is not installed: ${what} are skipped`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true requires it)`);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

/** Jack's env for the PostgreSQL ledger (SPEC §14) on a fresh database of this run's cluster. */
export async function postgresLedger(prefix: string): Promise<Record<string, string>> {
  return {
    JOB_LEDGER: 'postgres',
    LEDGER_DATABASE_URL: await createDatabase(inject('postgresUrl'), prefix),
  };
}

/** Enqueues `count` jobs of `type` (bulk calls of 200) and answers their ids, in order. */
export async function enqueueJobs(
  env: JackForWorkers,
  type: string,
  count: number,
  payload = (i: number) => `{"i":${i}}`,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 200) {
    const n = Math.min(200, count - start);
    const { results } = await env.client.enqueueBulk({
      jobs: Array.from({ length: n }, (_, k) => ({
        producerId: env.producerId,
        jobType: type,
        payload: Buffer.from(payload(start + k)),
      })),
    });
    for (const r of results) {
      expect(r.jobId).not.toBe('');
      ids.push(r.jobId);
    }
  }
  return ids;
}

/** Registers job type `name` of env's producer on the lane of `priority`; answers the name. */
export async function newJobType(
  env: JackForWorkers,
  name: string,
  maxRetries: number,
  priority: Priority = 'high',
): Promise<string> {
  await call(env.jack.admin, 'createJobType', {
    producerId: env.producerId,
    name,
    queue: QUEUE_OF[priority],
    maxRetries,
    description: '',
  });
  return name;
}

/** Waits (bounded) until the ledger holds `state` for the job; answers that record. */
export async function waitForState(
  env: JackForWorkers,
  jobId: string,
  state: JobState,
  boundMs = 15_000,
): Promise<LedgerJob> {
  let last: LedgerJob | undefined;
  await eventually(
    `job ${jobId} reaches ${JobState[state]} (last: ${last ? JobState[last.state] : 'none'})`,
    async () => {
      last = await env.client.getJob({ jobId });
      return last.state === state;
    },
    boundMs,
  );
  return last as LedgerJob;
}

/**
 * What a worker suite works with, whichever backend its lanes are on:
 * `worker()` starts one (concurrency 8, quiet, reporting to env's Jack) and
 * keeps it for `stopAll()` after each test, plus the helpers above bound to
 * env. Lanes and env come through getters: a suite makes them in beforeAll.
 */
export function workerSuite(
  lanesOf: () => { lanes: Record<Priority, string>; backend(): WorkerBackend },
  envOf: () => JackForWorkers,
) {
  const workers: Worker[] = [];
  return {
    workers,
    async worker(options: Partial<WorkerOptions>): Promise<Worker> {
      const w = createWorker({
        backend: lanesOf().backend(),
        lanes: lanesOf().lanes,
        handlers: {},
        concurrency: 8,
        jack: envOf().client,
        logger: { info() {}, warn() {}, error() {} },
        gracePeriod: 5_000,
        ...options,
      });
      workers.push(w);
      await w.start();
      return w;
    },
    stopAll: () => Promise.all(workers.splice(0).map((w) => w.stop())),
    enqueue: (type: string, count: number, payload?: (i: number) => string) =>
      enqueueJobs(envOf(), type, count, payload),
    newType: (name: string, maxRetries: number, priority: Priority = 'high') =>
      newJobType(envOf(), name, maxRetries, priority),
    record: (jobId: string): Promise<LedgerJob> => envOf().client.getJob({ jobId }),
    waitState: (jobId: string, state: JobState, boundMs = 15_000) =>
      waitForState(envOf(), jobId, state, boundMs),
  };
}
