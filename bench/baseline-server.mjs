/**
 * The baseline: a bare grpc-js server built the way a normal grpc-js service
 * is, on @grpc/proto-loader (the same .proto files and load options as Jack's
 * runtime loads), answering Enqueue and EnqueueBulk with a constant — the
 * speed limit of the stack. It used to share Jack's ts-proto codecs, which
 * are slower than protobufjs's generated ones and slowed the baseline down
 * with Jack (see docs/performance.md). With BASELINE_PUBSUB_TOPIC set, Enqueue first
 * publishes the job with a directly used @google-cloud/pubsub client (same
 * batching as Jack's medium lane) and answers once Pub/Sub returned its id.
 * env: GRPC_PORT, BASELINE_PUBSUB_TOPIC, PUBSUB_PROJECT, PUBSUB_EMULATOR_HOST.
 * With BASELINE_NATS_URL set, Enqueue first publishes the job to JetStream
 * (subject jack.medium.<job type>, the same headers and a unique Nats-Msg-Id)
 * and answers once the PubAck is back: the minimal NATS publisher. EnqueueBulk
 * publishes every job of the call and answers once all their PubAcks are back.
 * With BASELINE_POSTGRES_URL set, each job's record is inserted into a table
 * of Jack's ledger schema before the answer: the minimal ledger writer.
 * With BASELINE_MEMORY_RECORDS=N, each job's record is kept in a Map of at
 * most N: the minimal memory ledger.
 */
import grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { LOAD_OPTIONS } from '../dist/api/proto.js';

const { BackgroundJobs } = grpc.loadPackageDefinition(
  loadSync('jack/jack.proto', LOAD_OPTIONS),
).jack;

const port = Number(process.env.GRPC_PORT ?? 50051);
// A constant of the length of a real job id.
const JOB_ID = `pjob_${'0'.repeat(29)}`;
const bulkResponses = new Map();

/** The constant bulk answer for `count` jobs, built once per count. */
function bulkResponse(count) {
  let response = bulkResponses.get(count);
  if (response === undefined) {
    response = {
      results: Array.from({ length: count }, (_, index) => ({
        index,
        jobId: JOB_ID,
        error: '',
        errorMessages: [],
        correlationId: '',
        reason: '',
      })),
    };
    bulkResponses.set(count, response);
  }
  return response;
}

let publish;
/** Calls answered with an error; printed at exit so the bench can check it is 0. */
let failedCalls = 0;
const topicName = process.env.BASELINE_PUBSUB_TOPIC;
if (topicName) {
  const { PubSub } = await import('@google-cloud/pubsub');
  const client = new PubSub({
    projectId: process.env.PUBSUB_PROJECT,
    apiEndpoint: process.env.PUBSUB_EMULATOR_HOST,
    emulatorMode: true,
  });
  const topic = client.topic(topicName, {
    batching: { maxMessages: 100, maxMilliseconds: 10 },
    gaxOpts: { timeout: 5_000 },
  });
  const now = new Date().toISOString();
  publish = (request) =>
    topic.publishMessage({
      data: request.payload,
      attributes: {
        job_id: JOB_ID,
        producer_id: request.producerId,
        job_type: request.jobType,
        priority: 'medium',
        run_at: now,
        created_at: now,
        max_retries: '10',
        shadow: 'false',
      },
    });
}

const natsUrl = process.env.BASELINE_NATS_URL;
if (natsUrl) {
  const nats = await import('nats');
  // BASELINE_NATS_NO_TRACES=1: the client's noAsyncTraces, as Jack sets it.
  const nc = await nats.connect({
    servers: natsUrl,
    noAsyncTraces: process.env.BASELINE_NATS_NO_TRACES === '1',
  });
  const js = nc.jetstream({ timeout: 5_000 });
  const now = new Date().toISOString();
  let sequence = 0;
  publish = (request) => {
    sequence += 1;
    const id = `pjob_baseline_${process.pid}_${sequence}`;
    const h = nats.headers();
    h.set('job_id', id);
    h.set('producer_id', request.producerId);
    h.set('job_type', request.jobType);
    h.set('priority', 'medium');
    h.set('run_at', now);
    h.set('created_at', now);
    h.set('max_retries', '10');
    h.set('shadow', 'false');
    return js.publish(`jack.medium.${request.jobType.replaceAll('_', '_5F')}`, request.payload, {
      msgID: id,
      headers: h,
    });
  };
}

const memoryRecords = Number(process.env.BASELINE_MEMORY_RECORDS ?? 0);
if (memoryRecords > 0) {
  // The minimal memory ledger: a record per job (the fields a Job has) in a
  // Map of at most BASELINE_MEMORY_RECORDS, the oldest dropped first.
  const records = new Map();
  const oldestFirst = records.keys();
  let sequence = 0;
  publish = (request) => {
    sequence += 1;
    const jobId = `pjob_baseline_${process.pid}_${sequence}`;
    const now = new Date();
    records.set(jobId, {
      jobId,
      producerId: request.producerId,
      jobType: request.jobType,
      queue: 3,
      state: 2,
      createdAt: now,
      runAt: undefined,
      updatedAt: now,
      attempts: 0,
      maxRetries: 10,
      lastError: '',
      worker: '',
      traceId: '',
      correlationId: '',
      shadow: false,
      messageId: '',
      startedAt: undefined,
      finishedAt: undefined,
      payloadBytes: request.payload.length,
    });
    while (records.size > memoryRecords) records.delete(oldestFirst.next().value);
    return Promise.resolve();
  };
}

const postgresUrl = process.env.BASELINE_POSTGRES_URL;
if (postgresUrl) {
  // The minimal ledger writer: every job's record (the columns Jack writes)
  // inserted into a table with Jack's schema and indexes before the answer,
  // the records of one event-loop turn in one INSERT (Jack's group commit
  // without its timeout, buffer, in-flight bound or metrics).
  const { default: pg } = await import('pg');
  const { MIGRATIONS } = await import('../dist/ledger/migrations.js');
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
  const own = (sql) =>
    sql.replaceAll('jack_jobs', 'bench_jobs').replaceAll('jack_scheduled', 'bench_scheduled');
  const exists = await pool.query("SELECT to_regclass('bench_jobs') AS t");
  if (exists.rows[0].t === null) for (const m of MIGRATIONS) await pool.query(own(m.sql));
  const insert = `INSERT INTO bench_jobs (job_id, producer_id, job_type, queue, state,
      created_at, updated_at, max_retries, message_id, payload_bytes)
    SELECT r.job_id, r.producer_id, r.job_type, 3, 2, r.created_at, r.created_at, 10, '', r.payload_bytes
    FROM json_to_recordset($1::json)
      AS r(job_id text, producer_id text, job_type text, created_at timestamptz, payload_bytes integer)
    ON CONFLICT (job_id) DO NOTHING`;
  let gathered = [];
  let sequence = 0;
  const writeGathered = () => {
    const calls = gathered;
    gathered = [];
    const rows = calls.flatMap((c) => c.rows);
    pool.query(insert, [JSON.stringify(rows)]).then(
      () => {
        for (const c of calls) c.resolve();
      },
      (err) => {
        for (const c of calls) c.reject(err);
      },
    );
  };
  publish = (request) =>
    new Promise((resolve, reject) => {
      if (gathered.length === 0) setImmediate(writeGathered);
      sequence += 1;
      gathered.push({
        rows: [
          {
            job_id: `pjob_baseline_${process.pid}_${Date.now()}_${sequence}`,
            producer_id: request.producerId,
            job_type: request.jobType,
            created_at: new Date(),
            payload_bytes: request.payload.length,
          },
        ],
        resolve,
        reject,
      });
    });
}

const server = new grpc.Server();
server.addService(BackgroundJobs.service, {
  enqueue(call, callback) {
    if (publish === undefined) {
      callback(null, { jobId: JOB_ID, errorMessages: [], correlationId: '' });
      return;
    }
    publish(call.request).then(
      () => callback(null, { jobId: JOB_ID, errorMessages: [], correlationId: '' }),
      (err) => {
        failedCalls++;
        callback({ code: grpc.status.UNAVAILABLE, details: String(err) });
      },
    );
  },
  enqueueBulk(call, callback) {
    const { jobs } = call.request;
    if (publish === undefined) {
      callback(null, bulkResponse(jobs.length));
      return;
    }
    // Every job published, every PubAck awaited, then the answer.
    Promise.all(jobs.map(publish)).then(
      () => callback(null, bulkResponse(jobs.length)),
      (err) => {
        failedCalls++;
        callback({ code: grpc.status.UNAVAILABLE, details: String(err) });
      },
    );
  },
  cancelJob(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'baseline' });
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stderr.write(`baseline: ${err.message}\n`);
    process.exit(1);
  }
});
process.on('SIGTERM', () => {
  process.stderr.write(`baseline failed calls: ${failedCalls}\n`);
  server.tryShutdown(() => process.exit(0));
});
