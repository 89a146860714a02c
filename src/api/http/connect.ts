/**
 * Jack's services over the Connect protocol (JSON and binary) and gRPC-Web,
 * with @connectrpc/connect-node.
 *
 * Connect decodes a request with protobuf-es descriptors (src/gen-es,
 * generated from the same protos); this adapter turns it into the ts-proto
 * request of src/gen (binary in between, exact by construction) and calls
 * the very chain grpc-js calls (`BoundMethod.chain`, pipeline.ts): identity,
 * admission, idempotency, limits, logs, metrics, tracing and the error
 * mapper (`callStatus`, once per call) are shared, never repeated here. Only the framing
 * differs: the request id goes out as the `x-request-id` header, a status as
 * a ConnectError with the same code, message and details.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import {
  createRegistry,
  type DescMethod,
  type DescService,
  fromBinary,
  type Registry,
  toBinary,
} from '@bufbuild/protobuf';
import {
  type Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from '@connectrpc/connect';
import type { CallContext, Principal } from '../../context.js';
import { Status } from '../../gen/google/rpc/status.js';
import { file_grpc_health_v1_health, Health } from '../../gen-es/grpc/health/v1/health_pb.js';
import { file_jack_admin } from '../../gen-es/jack/admin_pb.js';
import { file_jack_jack } from '../../gen-es/jack/jack_pb.js';
import { file_jack_jobs } from '../../gen-es/jack/jobs_pb.js';
import type { CallTracker } from '../call-tracker.js';
import { isShadowValue, type MethodInfo, requestIdOf } from '../context.js';
import type { BoundedHealth } from '../health-service.js';
import { attachResponseStream, type BoundMethod, type BoundService } from '../pipeline.js';
import { callStatus, STATUS_DETAILS_KEY } from '../status.js';

/**
 * The descriptors Connect routes by. A service served over HTTP needs its
 * file here (once per .proto file) and its BoundService in app.ts.
 */
const DESCRIPTORS: Registry = createRegistry(
  file_jack_jack,
  file_jack_admin,
  file_jack_jobs,
  file_grpc_health_v1_health,
);

/** Messages a slow stream reader may leave queued before its stream is ended. */
const MAX_QUEUED_STREAM_MESSAGES = 1024;

/** What connect-node hands `contextValues`: an HTTP/1.1 or HTTP/2 request. */
export type NodeServerRequest = IncomingMessage | Http2ServerRequest;

/** The Node request a call came on: its socket names the peer and carries a client certificate. */
const NODE_REQUEST = createContextKey<NodeServerRequest | undefined>(undefined);

/** For connectNodeAdapter's `contextValues`. */
export function contextValuesOf(req: NodeServerRequest) {
  return createContextValues().set(NODE_REQUEST, req);
}

function peerOf(req: NodeServerRequest | undefined): string {
  const socket = req?.socket;
  return socket === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
}

/** The CallContext of a Connect or gRPC-Web call: the same shape grpc-js calls get. */
class HttpCallContext implements CallContext {
  readonly service: string;
  readonly method: string;
  readonly requestId: string;
  readonly shadow: boolean;
  principal: Principal | undefined = undefined;
  trace: unknown = undefined;
  readonly #handler: HandlerContext;

  constructor(handler: HandlerContext, info: MethodInfo) {
    this.#handler = handler;
    this.service = info.service;
    this.method = info.method;
    this.requestId = requestIdOf(handler.requestHeader.get('x-request-id') ?? undefined);
    this.shadow = isShadowValue(handler.requestHeader.get('shadow') ?? '');
  }

  get cancelled(): boolean {
    return this.#handler.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.#handler.signal;
  }

  header(name: string): string | undefined {
    return this.#handler.requestHeader.get(name) ?? undefined;
  }

  peerCertificate() {
    const socket = this.#handler.values.get(NODE_REQUEST)?.socket as TLSSocket | undefined;
    if (typeof socket?.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate();
    return cert === null || Object.keys(cert).length === 0 ? undefined : cert;
  }
}

/**
 * The call's status (`callStatus`: mapped once per call) in Connect's form: the same code, message and details
 * (RetryInfo, ErrorInfo…). The request id is not repeated in the error's
 * metadata: every handler sets it as a response header already, and Connect
 * merges the two (a unary error answered `x-request-id: a, a`).
 */
export function toConnectError(ctx: CallContext, err: unknown): ConnectError {
  const { code, details, metadata } = callStatus(ctx, err);
  const error = new ConnectError(details, code as number as Code);
  const detailsBin = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (detailsBin instanceof Buffer) {
    for (const any of Status.decode(detailsBin).details) {
      const type = any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
      error.details.push({ type, value: any.value });
    }
  }
  return error;
}

function unary(desc: DescMethod, bound: BoundMethod, calls: CallTracker) {
  return async (request: unknown, handler: HandlerContext) => {
    const ctx = new HttpCallContext(handler, bound.info);
    handler.responseHeader.set('x-request-id', ctx.requestId);
    calls.start();
    try {
      const decoded = bound.decode(toBinary(desc.input, request as never));
      const response = await bound.chain(decoded, ctx);
      return fromBinary(desc.output, bound.encode(response));
    } catch (err) {
      throw toConnectError(ctx, err);
    } finally {
      calls.finish();
    }
  };
}

/**
 * A server stream: the handler pushes messages through its ResponseStream,
 * Connect pulls them from this generator. Bounded: a reader that falls
 * MAX_QUEUED_STREAM_MESSAGES behind has its stream ended.
 */
function serverStream(desc: DescMethod, bound: BoundMethod) {
  return async function* (request: unknown, handler: HandlerContext) {
    const ctx = new HttpCallContext(handler, bound.info);
    handler.responseHeader.set('x-request-id', ctx.requestId);
    const queue: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    let over = false;
    let failure: unknown;
    const settle = (err?: unknown) => {
      if (over) return;
      over = true;
      failure = err;
      wake?.();
    };
    attachResponseStream(ctx, {
      connection: peerOf(handler.values.get(NODE_REQUEST)),
      send(message) {
        if (over || ctx.cancelled) return;
        if (queue.length >= MAX_QUEUED_STREAM_MESSAGES) {
          settle(new ConnectError('the stream is read too slowly and was ended', 8 as Code));
          return;
        }
        queue.push(bound.encode(message));
        wake?.();
      },
    });
    const decoded = bound.decode(toBinary(desc.input, request as never));
    bound.chain(decoded, ctx).then(
      () => settle(),
      (err: unknown) => settle(err ?? new Error('stream failed')),
    );
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield fromBinary(desc.output, next);
        continue;
      }
      if (over) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    if (failure !== undefined) {
      throw failure instanceof ConnectError ? failure : toConnectError(ctx, failure);
    }
  };
}

/**
 * Routes every bound method whose service has descriptors. `services` are
 * the same BoundServices grpc-js serves.
 */
export function connectRoutes(
  services: readonly BoundService[],
  calls: CallTracker,
): (router: ConnectRouter) => void {
  return (router) => {
    for (const service of services) {
      for (const bound of service.methods) {
        const desc = DESCRIPTORS.getService(bound.info.service) as DescService | undefined;
        const method = desc?.methods.find((m) => m.name === bound.info.method);
        if (method === undefined) continue; // no descriptors: served over gRPC only
        if (bound.responseStream) {
          router.rpc(method, serverStream(method, bound) as never);
        } else router.rpc(method, unary(method, bound, calls) as never);
      }
    }
  };
}

/**
 * Jack's words for a request Connect could not decode. protobuf-es refuses
 * it before any of Jack's code runs, in its own words ("cannot decode
 * message jack.EnqueueRequest from JSON: …", "parse binary: illegal tag…",
 * the latter even as INTERNAL), which name library internals; undefined for
 * any other message.
 */
export function decodeFailureMessage(libraryMessage: string): string | undefined {
  const field = /^cannot decode field [\w.]+\.(\w+) from JSON/.exec(libraryMessage);
  if (field) return `request field ${field[1]} has a value of the wrong type`;
  const message = /^cannot decode message ([\w.]+) from (JSON|binary)/.exec(libraryMessage);
  if (message) {
    return message[2] === 'JSON'
      ? `request body is not valid JSON for ${message[1]}`
      : `request body is not a valid ${message[1]} message`;
  }
  if (libraryMessage.startsWith('parse binary:')) {
    return 'request body is not a valid protobuf message for this method';
  }
  return undefined;
}

const JSON_ERROR_LIMIT = 64 * 1024;

/**
 * Rewrites the message of a Connect unary error answer (JSON `{code,
 * message}`, HTTP 4xx/5xx) that protobuf-es wrote while decoding the
 * request: the universal handlers of `router` are wrapped in place, so every
 * route (and any added later to this router) answers in Jack's words.
 */
export function ownDecodeErrors(router: ConnectRouter): void {
  router.handlers.forEach((handler, i) => {
    const wrapped = async (request: Parameters<typeof handler>[0]) => {
      const response = await handler(request);
      const type = response.header?.get('content-type') ?? '';
      if (response.status < 400 || !type.startsWith('application/json') || !response.body) {
        return response;
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > JSON_ERROR_LIMIT) break;
        chunks.push(chunk);
      }
      let body = Buffer.concat(chunks);
      let status = response.status;
      try {
        const error = JSON.parse(body.toString('utf8')) as { code?: string; message?: string };
        const own = decodeFailureMessage(error.message ?? '');
        if (own !== undefined) {
          body = Buffer.from(JSON.stringify({ code: 'invalid_argument', message: own }));
          status = 400;
        }
      } catch {
        // Not JSON after all: pass it on as it was.
      }
      response.header?.set('content-length', String(body.byteLength));
      return {
        ...response,
        status,
        body: (async function* () {
          yield body;
        })(),
      };
    };
    router.handlers[i] = Object.assign(wrapped, handler);
  });
}

/** Connect's numbering of grpc.health.v1 ServingStatus. */
const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

/**
 * grpc.health.v1 Check and List over HTTP, from the same BoundedHealth state
 * gRPC answers from (like on gRPC, outside the call pipeline: probes need
 * no identity). Watch stays gRPC-only: HTTP probes poll `/readyz`.
 */
export function healthRoutes(health: BoundedHealth): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Health, {
      check(request) {
        const current = health.statusOf(request.service);
        // The name is not echoed: it is the caller's, of any size.
        if (current === undefined) throw new ConnectError('unknown service name', 5 as Code);
        return { status: SERVING_STATUS[current] };
      },
      list() {
        const statuses: Record<string, { status: number }> = {};
        for (const [name, s] of health.statusList()) statuses[name] = { status: SERVING_STATUS[s] };
        return { statuses };
      },
    });
  };
}
