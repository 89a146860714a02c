/**
 * Who may act for which producer (SPEC §7). OIDC and certificate principals
 * are matched against `Producer.principals` through an index rebuilt only
 * when the store hands out a new snapshot (its producer list is a new array
 * exactly then), so a call costs a map lookup, not a scan of producers.
 */
import type { Principal } from '../context.js';
import { JackError } from '../errors.js';
import { decodeJobId, hashPrefix } from '../jobid/job-id.js';

export interface ProducerSource {
  /** The snapshot's producer list: the same array until the snapshot changes. */
  listProducers(): readonly { producerId: string; principals: readonly string[] }[];
}

export interface PrincipalIndex {
  /** Producers whose `principals` list this OIDC / certificate principal. */
  producersOf(principalId: string): ReadonlySet<string> | undefined;
  /** How many times the index was built (tests prove it is not rebuilt per call). */
  readonly builds: number;
}

export function createPrincipalIndex(source: ProducerSource): PrincipalIndex {
  let seen: readonly unknown[] | undefined;
  let index = new Map<string, Set<string>>();
  let builds = 0;
  const current = () => {
    const producers = source.listProducers();
    if (producers !== seen) {
      const next = new Map<string, Set<string>>();
      for (const producer of producers) {
        for (const principal of producer.principals) {
          const set = next.get(principal) ?? new Set<string>();
          set.add(producer.producerId);
          next.set(principal, set);
        }
      }
      index = next;
      seen = producers;
      builds += 1;
    }
    return index;
  };
  return {
    producersOf: (principalId) => current().get(principalId),
    get builds() {
      return builds;
    },
  };
}

/** "API key key_…", "OIDC principal x@y", … for PERMISSION_DENIED messages and audit lines. */
export function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case 'api_key':
      return `API key ${principal.id}`;
    case 'bootstrap':
      return 'the bootstrap admin key';
    case 'oidc':
      return `OIDC principal ${principal.id}`;
    case 'certificate':
      return `certificate principal ${principal.id}`;
  }
}

export const PRODUCER_METHODS: ReadonlySet<string> = new Set([
  'jack.BackgroundJobs/Enqueue',
  'jack.BackgroundJobs/EnqueueBulk',
  'jack.BackgroundJobs/CancelJob',
]);

/** jack.Jobs methods that read records (SPEC §14 "Who may"). */
const JOB_READS: ReadonlySet<string> = new Set(['GetJob', 'ListJobs', 'WatchJob']);

export interface Authorizer {
  isAdmin(principal: Principal): boolean;
  /** A worker (SPEC §14): may report and read job records, nothing else. */
  isWorker(principal: Principal): boolean;
  /** May this principal enqueue / cancel for this producer? */
  mayActFor(principal: Principal, producerId: string): boolean;
  /**
   * The call-level decision, before any other check of the request. For
   * EnqueueBulk only "may act for some producer" is decided here; each job
   * is checked by `authorizeJob`. Throws `permission_denied`.
   */
  authorizeCall(principal: Principal, service: string, method: string, request: unknown): void;
  /** Throws `permission_denied` (bulk reason permission_denied) naming principal and producer. */
  authorizeJob(principal: Principal, producerId: string): void;
}

export function createAuthorizer(options: {
  adminPrincipals: readonly string[];
  /** AUTH_WORKER_PRINCIPALS: OIDC / certificate principals with the worker role. */
  workerPrincipals?: readonly string[];
  index: PrincipalIndex;
}): Authorizer {
  const admins = new Set(options.adminPrincipals);
  const workers = new Set(options.workerPrincipals ?? []);
  const { index } = options;
  const isAdmin = (p: Principal) =>
    p.role !== 'worker' &&
    (p.kind === 'bootstrap' ||
      (p.kind === 'api_key' ? p.producerId === undefined : admins.has(p.id)));
  const isWorker = (p: Principal) =>
    !isAdmin(p) && (p.role === 'worker' || (p.kind !== 'api_key' && workers.has(p.id)));
  const mayActFor = (p: Principal, producerId: string) =>
    isAdmin(p) ||
    (!isWorker(p) &&
      (p.kind === 'api_key'
        ? p.producerId === producerId
        : index.producersOf(p.id)?.has(producerId) === true));
  /**
   * The producers whose job records this principal may read; undefined:
   * every producer (an admin, or a worker not bound to one producer).
   */
  const readableProducers = (p: Principal): ReadonlySet<string> | undefined => {
    if (isAdmin(p)) return undefined;
    if (p.kind === 'api_key' && p.producerId !== undefined) return new Set([p.producerId]);
    if (isWorker(p)) return undefined;
    return index.producersOf(p.id) ?? new Set();
  };
  /**
   * SPEC §14 "Who may". GetJob / WatchJob of another producer's job is
   * PERMISSION_DENIED, decided from the producer hash inside the job id
   * before the ledger is read, so it says nothing about whether the job
   * exists. A malformed id is left to the handler (INVALID_ARGUMENT).
   */
  const authorizeJobsCall = (p: Principal, method: string, request: unknown) => {
    const who = describePrincipal(p);
    const fields = (request ?? {}) as { producerId?: unknown; jobId?: unknown };
    const producerId = typeof fields.producerId === 'string' ? fields.producerId : '';
    if (method === 'ReportJobStatus') {
      if (!isWorker(p)) {
        throw new JackError(
          'permission_denied',
          `${who} may not call jack.Jobs/ReportJobStatus: workers and admins only`,
        );
      }
      const bound = p.kind === 'api_key' ? p.producerId : undefined;
      if (bound !== undefined && bound !== producerId) {
        throw new JackError(
          'permission_denied',
          `${who} may not report jobs of producer ${producerId || '(empty)'}: it is bound to producer ${bound}`,
        );
      }
      return;
    }
    if (!JOB_READS.has(method)) {
      throw new JackError('permission_denied', `${who} may not call jack.Jobs/${method}`);
    }
    const readable = readableProducers(p);
    if (readable === undefined) return;
    if (method === 'ListJobs') {
      if (producerId === '') {
        throw new JackError(
          'permission_denied',
          `${who} may only list its own producer's jobs: set producer_id`,
        );
      }
      if (!readable.has(producerId)) {
        throw new JackError(
          'permission_denied',
          `${who} may not read jobs of producer ${producerId}`,
        );
      }
      return;
    }
    const jobId = typeof fields.jobId === 'string' ? fields.jobId : '';
    let producerHash: Buffer;
    try {
      producerHash = decodeJobId(jobId).producerHash;
    } catch {
      return; // the handler refuses the id itself
    }
    for (const readableId of readable) {
      if (hashPrefix(readableId).equals(producerHash)) return;
    }
    throw new JackError(
      'permission_denied',
      `${who} may not read job ${jobId}: it belongs to another producer`,
    );
  };
  const denyProducer = (p: Principal, producerId: string) =>
    new JackError(
      'permission_denied',
      `${describePrincipal(p)} may not act for producer ${producerId || '(empty)'}`,
    );

  return {
    isAdmin,
    isWorker,
    mayActFor,
    authorizeCall(principal, service, method, request) {
      if (isAdmin(principal)) return;
      if (service === 'jack.Jobs') {
        authorizeJobsCall(principal, method, request);
        return;
      }
      const path = `${service}/${method}`;
      if (isWorker(principal)) {
        throw new JackError(
          'permission_denied',
          `${describePrincipal(principal)} is a worker: it may call jack.Jobs only, not ${path}`,
        );
      }
      if (!PRODUCER_METHODS.has(path)) {
        throw new JackError(
          'permission_denied',
          `${describePrincipal(principal)} may not call ${path}: admins only`,
        );
      }
      if (method === 'EnqueueBulk') {
        const actsForSome =
          principal.kind === 'api_key' ? true : (index.producersOf(principal.id)?.size ?? 0) > 0;
        if (!actsForSome) {
          throw new JackError(
            'permission_denied',
            `${describePrincipal(principal)} may not act for any producer`,
          );
        }
        return;
      }
      const producerId = (request as { producerId?: unknown } | undefined)?.producerId;
      const id = typeof producerId === 'string' ? producerId : '';
      if (!mayActFor(principal, id)) throw denyProducer(principal, id);
    },
    authorizeJob(principal, producerId) {
      if (!mayActFor(principal, producerId)) throw denyProducer(principal, producerId);
    },
  };
}
