/**
 * Starts Jack in-process through the real composition root (`startApp`) on
 * 127.0.0.1:0, with typed grpc-js clients and the log lines it wrote.
 */
import { Writable } from 'node:stream';
import {
  type CallOptions,
  type Client,
  credentials,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { type App, type AppOverrides, startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { AdminServiceClient } from '../../src/gen/jack/admin.js';
import { BackgroundJobsClient, type EnqueueRequest } from '../../src/gen/jack/jack.js';
import { JobsClient } from '../../src/gen/jack/jobs.js';
import { createLogger } from '../../src/logger.js';
import { trackClosed, trackOpen } from './leaks.js';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface RunningJack {
  app: App;
  address: string;
  jobs: BackgroundJobsClient;
  admin: AdminServiceClient;
  /** jack.Jobs: the job ledger (SPEC §14). */
  ledger: JobsClient;
  /** Every JSON line logged so far, parsed. */
  logs: LogLine[];
  /** Shuts the app down and closes the clients. Safe to call twice. */
  close(): Promise<void>;
}

/** A pino destination that keeps parsed lines (pino's own tests do the same). */
export function logSink(): { stream: Writable; lines: LogLine[] } {
  const lines: LogLine[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      pending += chunk.toString();
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
        newline = pending.indexOf('\n');
      }
      done();
    },
  });
  return { stream, lines };
}

export async function startJack(
  env: Record<string, string> = {},
  overrides: AppOverrides = {},
): Promise<RunningJack> {
  const config = loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', LOG_LEVEL: 'debug', ...env });
  const sink = logSink();
  const logger = createLogger({ level: config.logLevel }, sink.stream);
  const app = await startApp(config, logger, overrides);
  const address = `127.0.0.1:${app.port}`;
  const jobs = new BackgroundJobsClient(address, credentials.createInsecure());
  const admin = new AdminServiceClient(address, credentials.createInsecure());
  const ledger = new JobsClient(address, credentials.createInsecure());
  let closed: Promise<void> | undefined;
  trackOpen(app, `Jack at ${address} (startJack; call close())`);
  return {
    app,
    address,
    jobs,
    admin,
    ledger,
    logs: sink.lines,
    close() {
      closed ??= (async () => {
        jobs.close();
        admin.close();
        ledger.close();
        await app.shutdown();
        trackClosed(app);
      })();
      return closed;
    },
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/**
 * Calls a unary method of a generated client as a promise:
 * `await call(jack.jobs, 'enqueue', request)`. Rejects with the ServiceError.
 */
export function call<C extends Client, M extends keyof C, Req, Res>(
  client: C,
  method: M,
  request: C[M] extends UnaryMethod<infer Q, infer _R> ? Q : Req,
  metadata: Record<string, string> = {},
  deadlineMs = 10_000,
): Promise<C[M] extends UnaryMethod<infer _Q, infer R> ? R : Res> {
  const md = new Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  const fn = client[method] as unknown as UnaryMethod<unknown, unknown>;
  return new Promise((resolve, reject) => {
    fn.call(client, request, md, { deadline: Date.now() + deadlineMs }, (err, response) => {
      if (err) reject(err);
      else resolve(response as never);
    });
  });
}

/** Awaits a call expected to fail; resolves with its `{ code, details }`. */
export async function callError(
  promise: Promise<unknown>,
): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * An EnqueueRequest with every field at its wire default (what a client that
 * sets nothing sends), then `fields`.
 */
export function enqueueRequest(fields: Partial<EnqueueRequest> = {}): EnqueueRequest {
  return {
    producerId: '',
    jobType: '',
    payload: Buffer.alloc(0),
    runAt: undefined,
    traceId: '',
    correlationId: '',
    idempotencyKey: '',
    ...fields,
  };
}
