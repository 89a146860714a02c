/**
 * A fake Cloud Tasks: a real gRPC server speaking google.cloud.tasks.v2.CloudTasks
 * (CreateTask, DeleteTask, GetTask, GetQueue) from the protos that ship with
 * `@google-cloud/tasks`, so the real client talks to it over plaintext gRPC.
 * It stores tasks, answers ALREADY_EXISTS for a name in use or recently
 * deleted (as Cloud Tasks does) and NOT_FOUND for an unknown one, and can be
 * told to fail.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '../../src/api/proto.js';

/** A stored task, as proto-loader decodes it (camelCase field names). */
export interface FakeTask {
  name: string;
  scheduleTime?: { seconds: string; nanos: number };
  createTime?: { seconds: string; nanos: number };
  httpRequest?: {
    url: string;
    httpMethod: string;
    headers: Record<string, string>;
    body: Buffer;
    oauthToken?: { serviceAccountEmail: string; scope: string };
    oidcToken?: { serviceAccountEmail: string; audience: string };
  };
}

export type FakeMethod = 'CreateTask' | 'DeleteTask' | 'GetTask' | 'GetQueue';

export interface InjectedFailure {
  code: status;
  /** Perform the call first, then fail it: a reply lost on the way back. */
  afterApplying?: boolean;
}

export interface FakeCloudTasks {
  /** host:port, the value for CLOUD_TASKS_ENDPOINT. */
  readonly endpoint: string;
  /** Tasks currently stored, in creation order. */
  tasks(): FakeTask[];
  /** Calls received per method (including failed ones). */
  readonly calls: Record<FakeMethod, number>;
  /** The next call of `method` fails once with `failure`. */
  failNext(method: FakeMethod, failure: InjectedFailure): void;
  /** Every call fails with `code` until called again with undefined. */
  failAll(code: status | undefined): void;
  /** Stops the server at once. Safe to call twice. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The JSON descriptor bundled with @google-cloud/tasks (all its protos and their imports). */
function tasksProtoJson(): object {
  // build/cjs/src/index.cjs → build/protos/protos.json
  const main = require.resolve('@google-cloud/tasks');
  const json = join(dirname(main), '..', '..', 'protos', 'protos.json');
  return JSON.parse(readFileSync(json, 'utf8')) as object;
}

function cloudTasksService(): ServiceDefinition {
  // Without defaults, a field the client did not send stays absent (as a
  // real server would see it), so the fake can tell "unset" from "empty".
  const definition = fromJSON(tasksProtoJson(), { ...PROTO_LOADER_OPTIONS, defaults: false });
  const grpcObject = loadPackageDefinition(definition) as unknown as {
    google: { cloud: { tasks: { v2: { CloudTasks: { service: ServiceDefinition } } } } };
  };
  return grpcObject.google.cloud.tasks.v2.CloudTasks.service;
}

const timestampNow = () => {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
};

type Handler = (request: Record<string, unknown>) => object;

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startFakeCloudTasks(): Promise<FakeCloudTasks> {
  const tasks = new Map<string, FakeTask>();
  // Cloud Tasks refuses a recently deleted name for a while (~1 h): so does the fake.
  const deleted = new Set<string>();
  const calls: Record<FakeMethod, number> = {
    CreateTask: 0,
    DeleteTask: 0,
    GetTask: 0,
    GetQueue: 0,
  };
  const pending = new Map<FakeMethod, InjectedFailure[]>();
  let failEverything: status | undefined;

  const fail = (code: status, details: string) =>
    Object.assign(new Error(details), { code, details });

  const wrap =
    (method: FakeMethod, handler: Handler) =>
    (call: ServerUnaryCall<Record<string, unknown>, object>, callback: sendUnaryData<object>) => {
      calls[method]++;
      if (failEverything !== undefined) {
        callback(fail(failEverything, `injected failure of ${method}`));
        return;
      }
      const injected = pending.get(method)?.shift();
      if (injected !== undefined && injected.afterApplying !== true) {
        callback(fail(injected.code, `injected failure of ${method}`));
        return;
      }
      let response: object;
      try {
        response = handler(call.request);
      } catch (err) {
        callback(err as Error);
        return;
      }
      if (injected !== undefined) {
        callback(fail(injected.code, `injected failure of ${method} (after applying it)`));
        return;
      }
      callback(null, response);
    };

  const name = (request: Record<string, unknown>) => String(request.name ?? '');

  const server = new Server();
  server.addService(cloudTasksService(), {
    CreateTask: wrap('CreateTask', (request) => {
      const parent = String(request.parent ?? '');
      const task = { ...(request.task as FakeTask) };
      if (task.name === undefined || task.name === '') {
        task.name = `${parent}/tasks/${tasks.size + deleted.size + 1}`;
      }
      if (!task.name.startsWith(`${parent}/tasks/`)) {
        throw fail(status.INVALID_ARGUMENT, `task name ${task.name} is not in queue ${parent}`);
      }
      if (tasks.has(task.name) || deleted.has(task.name)) {
        throw fail(status.ALREADY_EXISTS, `Requested entity already exists: ${task.name}`);
      }
      task.createTime = timestampNow();
      tasks.set(task.name, task);
      return task;
    }),
    DeleteTask: wrap('DeleteTask', (request) => {
      if (!tasks.delete(name(request))) {
        throw fail(status.NOT_FOUND, `Requested entity was not found: ${name(request)}`);
      }
      deleted.add(name(request));
      return {};
    }),
    GetTask: wrap('GetTask', (request) => {
      const task = tasks.get(name(request));
      if (task === undefined) {
        throw fail(status.NOT_FOUND, `Requested entity was not found: ${name(request)}`);
      }
      return task;
    }),
    GetQueue: wrap('GetQueue', (request) => ({ name: name(request), state: 'RUNNING' })),
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });

  let stopped = false;
  return {
    endpoint: `127.0.0.1:${port}`,
    calls,
    tasks: () => [...tasks.values()],
    failNext(method, failure) {
      const queue = pending.get(method) ?? [];
      queue.push(failure);
      pending.set(method, queue);
    },
    failAll(code) {
      failEverything = code;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.forceShutdown();
    },
  };
}

/**
 * The task name Jack must give a job's task: `queuePath`/tasks/, 8 hex of
 * SHA-256(job id), '-', the job id. Computed here, apart from the scheduler.
 */
export function expectedTaskName(queuePath: string, jobId: string): string {
  return `${queuePath}/tasks/${createHash('sha256').update(jobId).digest('hex').slice(0, 8)}-${jobId}`;
}

/** The environment that turns on Jack's Cloud Tasks scheduler against `fake` (project `tasks-proj`). */
export function cloudTasksEnv(
  fake: FakeCloudTasks,
  options: { location: string; queue: string; serviceAccount: string; pubsubRestEndpoint?: string },
): Record<string, string> {
  return {
    CLOUD_TASKS_PROJECT: 'tasks-proj',
    CLOUD_TASKS_LOCATION: options.location,
    CLOUD_TASKS_QUEUE: options.queue,
    CLOUD_TASKS_SERVICE_ACCOUNT: options.serviceAccount,
    CLOUD_TASKS_ENDPOINT: fake.endpoint,
    ...(options.pubsubRestEndpoint === undefined
      ? {}
      : { PUBSUB_REST_ENDPOINT: options.pubsubRestEndpoint }),
  };
}
