/** Builds the per-call context (src/context.ts) from a grpc-js unary or server-streaming call. */
import { randomUUID } from 'node:crypto';
import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { CallContext, Principal } from '../context.js';

/** A caller-supplied request id is kept when it is short and plain (it lands in logs). */
/** A unary call or a server stream: both carry metadata, cancellation and the TLS peer. */
type GrpcCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface MethodInfo {
  /** `jack.BackgroundJobs` */
  readonly service: string;
  /** `Enqueue` */
  readonly method: string;
  /** `/jack.BackgroundJobs/Enqueue` */
  readonly path: string;
}

/** `/jack.BackgroundJobs/Enqueue` → its service and method names. */
export function methodInfo(path: string): MethodInfo {
  const slash = path.lastIndexOf('/');
  return { service: path.slice(1, slash), method: path.slice(slash + 1), path };
}

function firstText(metadata: Metadata, name: string): string | undefined {
  const values = metadata.get(name);
  const first = values[0];
  return typeof first === 'string' ? first : undefined;
}

/** The caller's `x-request-id` when short and plain, else a new one (every transport). */
export function requestIdOf(given: string | undefined): string {
  return given !== undefined && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/** True for a `shadow` header value of `true` (case-insensitive): SPEC §2.4. */
export function isShadowValue(value: string): boolean {
  return value.trim().toLowerCase() === 'true';
}

/** True when the call carries metadata `shadow: true` (value case-insensitive). */
export function isShadow(metadata: Metadata): boolean {
  const values = metadata.get('shadow');
  return values.some((v) => typeof v === 'string' && isShadowValue(v));
}

/**
 * The reason a call's signal aborts with. Passing one avoids `abort()`
 * building a DOMException (with its stack) per call: grpc-js reports
 * `cancelled` for many calls, and that once cost 8 % of Jack's CPU.
 */
export const CANCELLED = Object.freeze(new Error('the call was cancelled'));

/**
 * The context of one call. The abort signal is made on first use: most calls
 * never ask for it (the hot path reads `cancelled`), and a cancel that came
 * earlier is still seen (`call.cancelled`).
 */
class GrpcCallContext implements CallContext {
  readonly service: string;
  readonly method: string;
  readonly requestId: string;
  readonly shadow: boolean;
  principal: Principal | undefined = undefined;
  trace: unknown = undefined;
  readonly #call: GrpcCall;
  #controller: AbortController | undefined;

  constructor(call: GrpcCall, method: MethodInfo) {
    this.#call = call;
    this.service = method.service;
    this.method = method.method;
    this.requestId = requestIdOf(firstText(call.metadata, 'x-request-id'));
    this.shadow = isShadow(call.metadata);
  }

  get cancelled(): boolean {
    return this.#call.cancelled;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const call = this.#call;
      if (call.cancelled) controller.abort(CANCELLED);
      else call.once('cancelled', () => controller.abort(CANCELLED));
    }
    return this.#controller.signal;
  }

  header(name: string): string | undefined {
    return firstText(this.#call.metadata, name);
  }

  peerCertificate() {
    return this.#call.getAuthContext().sslPeerCertificate;
  }
}

export function createCallContext(call: GrpcCall, method: MethodInfo): CallContext {
  return new GrpcCallContext(call, method);
}
