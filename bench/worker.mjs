/**
 * Worker throughput and pickup latency on the Pub/Sub emulator (issue 29,
 * SPEC §15), on the built worker (dist/worker): jobs/s of a worker with an
 * empty handler and reports on (a Jack started from dist/main.js, memory
 * ledger) against a bare `@google-cloud/pubsub` subscriber acking the same
 * messages; then the IMMEDIATE pickup latency (publish → handler start)
 * at 100 jobs/s. `node bench/worker.mjs [JOBS]` after `make build`.
 *
 * A third subscriber does only the work §15 requires of a worker with
 * reports on — ReportJobStatus RUNNING awaited before the job, ack, then
 * SUCCEEDED — through a plain grpc-js client, no SDK: the "required work"
 * reference, which tells the cost of the two reports per job on this
 * machine apart from the SDK's own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { credentials, Metadata } from '@grpc/grpc-js';
import { createJackClient } from '../dist/client/index.js';
import { JobState, JobsClient } from '../dist/gen/jack/jobs.js';
import { createJobIdGenerator } from '../dist/jobid/job-id.js';
import { createWorker, pubsubBackend } from '../dist/worker/index.js';
import { freePort, healthServing, percentile, startPubSubEmulator, startServer } from './lib.mjs';

const JOBS = Number(process.argv[2] ?? 5000);
const PROJECT = 'bench-worker';
const PRODUCER = 'prod_bench';
const ids = createJobIdGenerator();
const log = (line) => process.stdout.write(`${line}\n`);

const emulator = await startPubSubEmulator();
const options = {
  projectId: PROJECT,
  apiEndpoint: emulator.host,
  emulatorMode: true,
  universeDomain: 'googleapis.com',
};
const pubsub = new PubSub(options);
const [topic] = await pubsub.createTopic('bench-immediate');
const jackPort = await freePort();
const jack = await startServer({
  name: 'jack',
  argv: [process.execPath, 'dist/main.js'],
  env: {
    ...process.env,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(jackPort),
    LOG_LEVEL: 'warn',
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: PROJECT,
    PUBSUB_EMULATOR_HOST: emulator.host,
    PUBSUB_TOPIC_MEDIUM: 'bench-immediate',
    PUBSUB_TOPIC_IMMEDIATE: 'bench-immediate',
  },
  address: `127.0.0.1:${jackPort}`,
  ready: healthServing,
});
const client = createJackClient({ addr: jack.address });

async function publish(count, extra = () => ({})) {
  const publisher = pubsub.topic('bench-immediate', {
    batching: { maxMessages: 500, maxMilliseconds: 5 },
  });
  const sends = [];
  for (let i = 0; i < count; i++) {
    const jobId = ids.next(PRODUCER, 'bench', Date.now());
    sends.push(
      publisher.publishMessage({
        data: Buffer.from('{}'),
        attributes: {
          job_id: jobId,
          producer_id: PRODUCER,
          job_type: 'bench',
          priority: 'immediate',
          max_retries: '3',
          ...extra(),
        },
      }),
    );
  }
  await Promise.all(sends);
  await publisher.flush();
}

async function subscription(name) {
  const [sub] = await topic.createSubscription(name, { ackDeadlineSeconds: 30 });
  return sub;
}

async function bare() {
  const sub = await subscription('bare');
  await publish(JOBS);
  const sub2 = pubsub.subscription('bare', { flowControl: { maxMessages: 9 } });
  let acked = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    sub2.on('message', (m) => {
      m.ack();
      if (++acked === JOBS) resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await sub2.close();
  await sub.delete();
  return JOBS / seconds;
}

async function requiredWork() {
  const sub = await subscription('required');
  await publish(JOBS);
  const jobs = new JobsClient(jack.address, credentials.createInsecure());
  const report = (m, state) =>
    new Promise((resolve) => {
      jobs.reportJobStatus(
        {
          jobId: m.attributes.job_id,
          producerId: m.attributes.producer_id,
          jobType: m.attributes.job_type,
          state,
          attempt: 1,
          error: '',
          worker: 'bench',
          queue: 1,
        },
        new Metadata(),
        { deadline: Date.now() + 2_000 },
        () => resolve(),
      );
    });
  const sub2 = pubsub.subscription('required', { flowControl: { maxMessages: 9 } });
  let acked = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    sub2.on('message', async (m) => {
      await report(m, JobState.JOB_STATE_RUNNING);
      m.ack();
      void report(m, JobState.JOB_STATE_SUCCEEDED);
      if (++acked === JOBS) resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await sub2.close();
  await sub.delete();
  jobs.close();
  return JOBS / seconds;
}

async function worker() {
  const sub = await subscription('worker');
  await publish(JOBS);
  let done = 0;
  let finish;
  const all = new Promise((resolve) => {
    finish = resolve;
  });
  const w = createWorker({
    backend: pubsubBackend({ projectId: PROJECT, emulatorHost: emulator.host }),
    lanes: { immediate: 'worker' },
    concurrency: 8,
    jack: client,
    handlers: {
      bench: () => {
        if (++done === JOBS) setImmediate(finish);
      },
    },
  });
  const started = performance.now();
  await w.start();
  await all;
  const seconds = (performance.now() - started) / 1000;
  await w.stop();
  await sub.delete();
  return { rate: JOBS / seconds, stats: w.stats() };
}

async function latency() {
  const sub = await subscription('latency');
  const waits = [];
  const w = createWorker({
    backend: pubsubBackend({ projectId: PROJECT, emulatorHost: emulator.host }),
    lanes: { immediate: 'latency' },
    concurrency: 8,
    jack: client,
    handlers: { bench: (job) => void waits.push(Date.now() - Number(job.attributes.sent_ms)) },
  });
  await w.start();
  for (let i = 0; i < 500; i++) {
    await publish(1, () => ({ sent_ms: String(Date.now()) }));
    await sleep(10);
  }
  const deadline = Date.now() + 30_000;
  while (waits.length < 500 && Date.now() < deadline) await sleep(50);
  await w.stop();
  await sub.delete();
  waits.sort((a, b) => a - b);
  return { p50: percentile(waits, 0.5), p99: percentile(waits, 0.99), n: waits.length };
}

try {
  const bareRate = await bare();
  const requiredRate = await requiredWork();
  const { rate, stats } = await worker();
  log(
    `bare subscriber: ${bareRate.toFixed(0)} msgs/s; worker (empty handler, reports on): ${rate.toFixed(0)} jobs/s = ${(rate / bareRate).toFixed(2)} × bare (${JOBS} jobs; reports sent ${stats.reportsSent}, dropped ${stats.reportsDropped})`,
  );
  log(
    `required work (bare subscriber + the two reports, plain grpc-js): ${requiredRate.toFixed(0)} jobs/s = ${(requiredRate / bareRate).toFixed(2)} × bare; worker / required work = ${(rate / requiredRate).toFixed(2)}`,
  );
  const l = await latency();
  log(
    `IMMEDIATE pickup (publish → handler start) at ~100 jobs/s: p50 ${l.p50} ms, p99 ${l.p99} ms (${l.n} jobs)`,
  );
} finally {
  client.close();
  await jack.stop();
  await pubsub.close();
  await emulator.stop();
}
