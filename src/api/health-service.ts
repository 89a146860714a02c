/**
 * grpc.health.v1.Health for a fixed set of service names, bounded (SPEC §6).
 *
 * grpc-health-check's own handlers keep a map entry for every name ever
 * watched, forever (a client watching unique 512 KiB names grew the heap by
 * 150 MiB), echo the name back in errors, and let one connection open any
 * number of Watch streams. This subclass keeps its status map and watcher
 * bookkeeping for the names Jack serves, and serves the handlers itself:
 * - `Check` of any other name → NOT_FOUND, `Watch` → SERVICE_UNKNOWN, with
 *   nothing kept per name (the stream only counts against its connection);
 * - at most `maxWatchesPerConnection` open Watch streams per connection
 *   (RESOURCE_EXHAUSTED beyond);
 * - `endWatches()` ends every open Watch with OK (shutdown: clients see
 *   NOT_SERVING, then a clean end instead of a cut connection).
 */
import {
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus, service } from 'grpc-health-check';

interface HealthRequest {
  service: string;
}
interface HealthResponse {
  status: ServingStatus | 'SERVICE_UNKNOWN';
}
type WatchCall = ServerWritableStream<HealthRequest, HealthResponse>;

export class BoundedHealth extends HealthImplementation {
  private readonly known: ReadonlySet<string>;
  private readonly statuses = new Map<string, ServingStatus>();
  /** Open Watch streams → the name they follow (undefined: an unknown name, never updated). */
  private readonly watches = new Map<WatchCall, string | undefined>();
  private readonly perConnection = new Map<string, number>();
  private ended = false;

  constructor(
    initial: Record<string, ServingStatus>,
    private readonly maxWatchesPerConnection: number,
  ) {
    super(initial);
    this.known = new Set(Object.keys(initial));
    for (const [name, s] of Object.entries(initial)) this.statuses.set(name, s);
  }

  /** Only the names given at construction exist; any other is ignored. */
  override setStatus(name: string, serving: ServingStatus): void {
    if (!this.known.has(name)) return;
    this.statuses.set(name, serving);
    for (const [call, watched] of this.watches) {
      if (watched === name && !this.ended) call.write({ status: serving });
    }
  }

  /** The status of a name Jack serves (`''` for the whole process); undefined for any other. */
  statusOf(name: string): ServingStatus | undefined {
    return this.statuses.get(name);
  }

  /** Every name Jack serves with its status. */
  statusList(): Array<[string, ServingStatus]> {
    return [...this.statuses];
  }

  /** Open Watch streams (for tests and metrics). */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Ends every open Watch stream with OK; later Watches end at once after their status. */
  endWatches(): void {
    this.ended = true;
    for (const call of [...this.watches.keys()]) call.end();
  }

  override addToServer(server: Server): void {
    server.addService(service, {
      check: (
        call: ServerUnaryCall<HealthRequest, HealthResponse>,
        callback: sendUnaryData<HealthResponse>,
      ) => {
        const current = this.statuses.get(call.request.service);
        // The name is not echoed: it is the caller's, of any size.
        if (current === undefined) {
          callback({ code: status.NOT_FOUND, details: 'unknown service name' });
        } else callback(null, { status: current });
      },
      watch: (call: WatchCall) => this.watch(call),
      list: (
        _call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<{ statuses: Record<string, { status: ServingStatus }> }>,
      ) => {
        const statuses: Record<string, { status: ServingStatus }> = {};
        for (const [name, s] of this.statuses) statuses[name] = { status: s };
        callback(null, { statuses });
      },
    });
  }

  private watch(call: WatchCall): void {
    const peer = call.getPeer();
    const open = this.perConnection.get(peer) ?? 0;
    if (open >= this.maxWatchesPerConnection) {
      call.emit('error', {
        code: status.RESOURCE_EXHAUSTED,
        details: `at most ${this.maxWatchesPerConnection} Watch streams per connection (GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION)`,
      });
      return;
    }
    const name = call.request.service;
    const current = this.statuses.get(name);
    call.write({ status: current ?? 'SERVICE_UNKNOWN' });
    if (this.ended) {
      call.end();
      return;
    }
    this.perConnection.set(peer, open + 1);
    // For an unknown name only the call is tracked (never the name): Jack's
    // names are fixed, so it never receives an update.
    this.watches.set(call, current === undefined ? undefined : name);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.watches.delete(call);
      const left = (this.perConnection.get(peer) ?? 1) - 1;
      if (left <= 0) this.perConnection.delete(peer);
      else this.perConnection.set(peer, left);
    };
    call.on('cancelled', release);
    call.on('finish', release);
    call.on('close', release);
  }
}
