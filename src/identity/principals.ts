/**
 * Who may act for which producer (SPEC §7). OIDC and certificate principals
 * are matched against `Producer.principals` through an index rebuilt only
 * when the store hands out a new snapshot (its producer list is a new array
 * exactly then), so a call costs a map lookup, not a scan of producers.
 */
import type { Principal } from '../context.js';
import { JackError } from '../errors.js';

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

export interface Authorizer {
  isAdmin(principal: Principal): boolean;
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
  index: PrincipalIndex;
}): Authorizer {
  const admins = new Set(options.adminPrincipals);
  const { index } = options;
  const isAdmin = (p: Principal) =>
    p.kind === 'bootstrap' ||
    (p.kind === 'api_key' ? p.producerId === undefined : admins.has(p.id));
  const mayActFor = (p: Principal, producerId: string) =>
    isAdmin(p) ||
    (p.kind === 'api_key'
      ? p.producerId === producerId
      : index.producersOf(p.id)?.has(producerId) === true);
  const denyProducer = (p: Principal, producerId: string) =>
    new JackError(
      'permission_denied',
      `${describePrincipal(p)} may not act for producer ${producerId || '(empty)'}`,
    );

  return {
    isAdmin,
    mayActFor,
    authorizeCall(principal, service, method, request) {
      if (isAdmin(principal)) return;
      const path = `${service}/${method}`;
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
