/**
 * The per-call context: built once when a call arrives (src/api/context.ts),
 * handed through the interceptors to the service and on to domain code. It
 * carries what every layer may need about the call without exposing grpc-js.
 */
import type { PeerCertificate } from 'node:tls';

/** Who is calling, once authenticated (SPEC §7). */
export interface Principal {
  /** How the caller proved who it is. */
  kind: 'api_key' | 'bootstrap' | 'oidc' | 'certificate';
  /** Key id, OIDC email/sub, SPIFFE id or certificate CN: for logs and authorization. */
  id: string;
  /** Set for an API key bound to one producer. */
  producerId?: string;
  /**
   * `worker`: may report and read jobs (SPEC §14), nothing else — a worker
   * API key (limited to `producerId` when set) or a principal listed in
   * AUTH_WORKER_PRINCIPALS. Absent: the rule of §7 (admin or producer).
   */
  role?: 'worker';
}

export interface CallContext {
  /** Full service name, e.g. `jack.BackgroundJobs` (from the generated definitions). */
  readonly service: string;
  /** Method name as in the .proto file, e.g. `Enqueue`. */
  readonly method: string;
  /** Sent back as the `x-request-id` response header and on every log line of the call. */
  readonly requestId: string;
  /**
   * True once the client cancelled or the deadline passed. Cheap (a flag of
   * the call): the hot path reads this, never `signal`.
   */
  readonly cancelled: boolean;
  /** Aborts when the client cancels or the deadline passes; made on first use. */
  readonly signal: AbortSignal;
  /** Request metadata `shadow: true` (SPEC §2.4). */
  readonly shadow: boolean;
  /** First value of a request metadata key (lowercase name), undefined when absent or binary. */
  header(name: string): string | undefined;
  /** The client certificate of an mTLS connection, undefined otherwise. */
  peerCertificate(): PeerCertificate | undefined;
  /** Set by the authentication interceptor. */
  principal: Principal | undefined;
  /** Set by the tracing interceptor (an OpenTelemetry Context); undefined when tracing is off. */
  trace: unknown;
}

/** A context for calls made from inside the process (tests, tools): never aborts. */
export function internalContext(fields: Partial<Omit<CallContext, 'cancelled'>> = {}): CallContext {
  const signal = fields.signal ?? new AbortController().signal;
  return {
    service: 'internal',
    method: 'internal',
    requestId: 'internal',
    shadow: false,
    header: () => undefined,
    peerCertificate: () => undefined,
    principal: undefined,
    trace: undefined,
    ...fields,
    signal,
    get cancelled() {
      return signal.aborted;
    },
  };
}
