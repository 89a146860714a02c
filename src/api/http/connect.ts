/**
 * Jack's services over the Connect protocol (JSON and binary) and gRPC-Web,
 * with @connectrpc/connect-node.
 *
 * Connect decodes a request with protobuf-es descriptors (src/gen-es,
 * generated from the same protos); this adapter turns it into the ts-proto
 * request of src/gen (binary in between, exact by construction) and calls
 * the very chain grpc-js calls (`BoundMethod.chain`, pipeline.ts): identity,
 * admission, idempotency, limits, logs, metrics, tracing and the error
 * mapper (`toStatus`) are shared, never repeated here. Only the framing
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
import { STATUS_DETAILS_KEY, toStatus } from '../status.js';

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
 * `toStatus` in Connect's form: the same code, message and details
 * (RetryInfo, ErrorInfo…). The request id is not repeated in the error's
 * metadata: every handler sets it as a response header already, and Connect
 * merges the two (a unary error answered `x-request-id: a, a`).
 */
export function toConnectError(err: unknown): ConnectError {
  const { code, details, metadata } = toStatus(err);
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
      throw toConnectError(err);
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
      throw failure instanceof ConnectError ? failure : toConnectError(failure);
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
