/**
 * The one way a call travels: transport (grpc-js, or Connect / gRPC-Web in
 * src/api/http) → decode → CallContext → interceptors
 * (composed once per method at startup) → service handler → response. Every
 * error, whoever throws it, becomes a status in `toStatus` and nowhere else,
 * once per call (`callStatus`).
 *
 * Server-streaming methods (WatchJob) travel the same way: to the
 * interceptors a stream is one call whose promise settles when the stream
 * ends (OK, or the error's status), so auth, logs and metrics need nothing
 * of their own; the handler writes messages through a ResponseStream.
 *
 * We compose our own interceptors around the unary handler rather than use
 * grpc-js's native server interceptors: those work on the HTTP/2 stream
 * (metadata, raw messages) and have no typed request or per-call context to
 * hand to the next layer, which is what auth, rate limits and idempotency
 * need. This is the nice-grpc / connect-es shape: `(next) => (req, ctx) => …`.
 */
import {
  Metadata,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { CallContext } from '../context.js';
import { isJackError, JackError } from '../errors.js';
import type { CallTracker } from './call-tracker.js';
import { createCallContext, type MethodInfo, methodInfo } from './context.js';
import { strictUtf8 } from './decode.js';
import { callStatus } from './status.js';

/** A service method seen by interceptors: request in, response out. */
export type Handler = (request: unknown, ctx: CallContext) => Promise<unknown>;

/**
 * Wraps the next handler. Built once per method at startup (`method` says
 * which), so an interceptor can decide per method without per-call work.
 * To refuse a call it throws a JackError.
 */
export type Interceptor = (next: Handler, method: MethodInfo) => Handler;

/** How a server-streaming handler sends its messages. */
export interface ResponseStream<T> {
  /** Sends one message; ignored once the client went away. */
  send(message: T): void;
  /** The connection the call came on (its peer address): for bounds per connection. */
  readonly connection: string;
}

/** A server-streaming handler: resolves when the stream should end with OK. */
export type StreamHandler<Req, Res> = (
  request: Req,
  ctx: CallContext,
  stream: ResponseStream<Res>,
) => Promise<void>;

/** The handlers of a service, typed from its generated (ts-proto) definition. */
export type ServiceHandlers<D> = {
  [K in keyof D]: D[K] extends {
    responseStream: true;
    requestDeserialize(bytes: Buffer): infer Req;
    responseSerialize(value: infer Res): Buffer;
  }
    ? StreamHandler<Req, Res>
    : D[K] extends {
          requestDeserialize(bytes: Buffer): infer Req;
          responseSerialize(value: infer Res): Buffer;
        }
      ? (request: Req, ctx: CallContext) => Promise<Res>
      : never;
};

/** What a request that could not be decoded turns into (grpc-js would answer INTERNAL). */
const UNDECODABLE: unique symbol = Symbol('undecodable request');
interface Undecodable {
  readonly [UNDECODABLE]: unknown;
}

function isUndecodable(request: unknown): request is Undecodable {
  return typeof request === 'object' && request !== null && UNDECODABLE in request;
}

export interface BindOptions {
  interceptors: readonly Interceptor[];
  calls: CallTracker;
}

/**
 * One method, ready for any transport: the composed chain (interceptors,
 * decode check, handler), built once here and called by grpc-js
 * (`implementation` below) and by the HTTP transport (src/api/http) alike, so
 * both run the very same code for identity, limits, logs and errors.
 */
export interface BoundMethod {
  readonly info: MethodInfo;
  readonly responseStream: boolean;
  /** ts-proto's decoder, wrapped so it never throws (an undecodable request reaches `chain`). */
  decode(bytes: Uint8Array): unknown;
  /** ts-proto's encoder of the response. */
  encode(response: unknown): Uint8Array;
  /** The whole pipeline; for a streaming method, `attachResponseStream` first. */
  readonly chain: Handler;
}

export interface BoundService {
  /** For grpc-js: the definition with never-throwing decoders, and its implementation. */
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** The same chains for other transports; methods without a handler are left out. */
  methods: readonly BoundMethod[];
}

/**
 * Returns a copy of `definition` whose decoder never throws, the grpc-js
 * implementation that runs every method through the interceptors, and the
 * same chains for the HTTP transport. Method names come from the
 * definition, never typed by hand.
 */
export function bindService<D extends ServiceDefinition>(
  definition: D,
  handlers: ServiceHandlers<D>,
  options: BindOptions,
): BoundService {
  const safeDefinition: Record<string, MethodDefinition<unknown, unknown>> = {};
  const implementation: UntypedServiceImplementation = {};
  const methods: BoundMethod[] = [];
  for (const key of Object.keys(definition)) {
    const method = definition[key] as MethodDefinition<unknown, unknown>;
    const info = methodInfo(method.path);
    const decode = safeDecoder(strictUtf8(method.path, method.requestDeserialize));
    safeDefinition[key] = { ...method, requestDeserialize: decode };
    const given = (handlers as Record<string, Handler | StreamHandler<unknown, unknown>>)[key];
    if (given === undefined) continue; // grpc-js answers UNIMPLEMENTED
    let chain: Handler;
    if (method.responseStream) {
      // The stream reaches the handler through its context: the chain is
      // built once per method, the stream exists once per call.
      const handler: Handler = (request, ctx) =>
        (given as StreamHandler<unknown, unknown>)(request, ctx, streamOf(ctx));
      chain = compose(options.interceptors, decodeCheck(handler, info), info);
      implementation[key] = streamingCall(chain, info);
    } else {
      chain = compose(options.interceptors, decodeCheck(given as Handler, info), info);
      implementation[key] = unaryCall(chain, info, options.calls);
    }
    methods.push({
      info,
      responseStream: method.responseStream,
      decode: (bytes) => decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      encode: (response) => method.responseSerialize(response),
      chain,
    });
  }
  return { definition: safeDefinition as ServiceDefinition, implementation, methods };
}

function safeDecoder(decode: (bytes: Buffer) => unknown): (bytes: Buffer) => unknown {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (err) {
      return { [UNDECODABLE]: err } satisfies Undecodable;
    }
  };
}

/** Refuses an undecodable request as INVALID_ARGUMENT, after the interceptors (auth first). */
function decodeCheck(next: Handler, info: MethodInfo): Handler {
  return (request, ctx) => {
    if (isUndecodable(request)) {
      // A string field that is not UTF-8 (decode.ts) is named as it was found.
      if (isJackError(request[UNDECODABLE], 'invalid_argument')) throw request[UNDECODABLE];
      throw new JackError(
        'invalid_argument',
        `the request is not a valid ${info.method} request message`,
        { cause: request[UNDECODABLE] },
      );
    }
    return next(request, ctx);
  };
}

/**
 * The same handler, except that a synchronous throw comes back as a rejected
 * promise: layers may throw or reject (a refusal is a throw), and every
 * interceptor sees a failure one way, through the promise it chains on.
 */
function throwsAsRejections(handler: Handler): Handler {
  return (request, ctx) => {
    try {
      return handler(request, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** interceptors[0] outermost; every layer's `next` is guarded by throwsAsRejections. */
function compose(interceptors: readonly Interceptor[], handler: Handler, info: MethodInfo) {
  let next = throwsAsRejections(handler);
  for (let i = interceptors.length - 1; i >= 0; i--) {
    next = throwsAsRejections((interceptors[i] as Interceptor)(next, info));
  }
  return next;
}

function unaryCall(chain: Handler, info: MethodInfo, calls: CallTracker) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    calls.start();
    const ctx = createCallContext(call, info);
    // The composed chain never throws: a synchronous throw is a rejection.
    chain(call.request, ctx).then(
      (response) => {
        call.sendMetadata(requestIdHeader(ctx.requestId));
        callback(null, response);
        calls.finish();
      },
      (err: unknown) => {
        const { code, details, metadata } = callStatus(ctx, err);
        call.sendMetadata(requestIdHeader(ctx.requestId));
        callback({ code, details, metadata: metadata ?? new Metadata() });
        calls.finish();
      },
    );
  };
}

const streams = new WeakMap<CallContext, ResponseStream<unknown>>();

/** Gives a streaming call its ResponseStream, before its chain runs (any transport). */
export function attachResponseStream(ctx: CallContext, stream: ResponseStream<unknown>): void {
  streams.set(ctx, stream);
}

function streamOf(ctx: CallContext): ResponseStream<unknown> {
  const stream = streams.get(ctx);
  if (stream === undefined) throw new JackError('internal', 'no response stream for this call');
  return stream;
}

/**
 * A server-streaming call. Not counted by the call tracker: like health
 * watches, an open stream does not hold shutdown up (the service ends its
 * streams itself, and the server cuts what is left after the grace period).
 */
function streamingCall(chain: Handler, info: MethodInfo) {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const ctx = createCallContext(call, info);
    let headerSent = false;
    const sendHeader = () => {
      if (headerSent) return;
      headerSent = true;
      call.sendMetadata(requestIdHeader(ctx.requestId));
    };
    let over = false;
    attachResponseStream(ctx, {
      connection: call.getPeer(),
      send(message) {
        if (over || call.cancelled || call.writableEnded) return;
        sendHeader();
        call.write(message);
      },
    });
    chain(call.request, ctx).then(
      () => {
        over = true;
        if (call.cancelled || call.writableEnded) return;
        sendHeader();
        call.end();
      },
      (err: unknown) => {
        over = true;
        if (call.cancelled || call.writableEnded) return;
        const { code, details, metadata } = callStatus(ctx, err);
        sendHeader();
        call.emit('error', { code, details, metadata: metadata ?? new Metadata() });
      },
    );
  };
}

function requestIdHeader(requestId: string): Metadata {
  const md = new Metadata();
  md.set('x-request-id', requestId);
  return md;
}
