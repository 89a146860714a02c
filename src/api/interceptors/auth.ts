/**
 * Authentication, authorization and the audit trail (SPEC §7), as one
 * interceptor placed before the handler: a caller who may not act learns
 * nothing about its request. Health and reflection are not wrapped.
 *
 * Each admin write (Create/Update/Delete/Revoke on jack.AdminService) leaves
 * one audit line: principal, method, target ids, outcome. Target ids are
 * picked field by field from request and response, so the token that
 * CreateApiKey returns can never reach the log.
 */
import type { Logger } from 'pino';
import type { CallContext, Principal } from '../../context.js';
import type { Identity } from '../../identity/identity.js';
import { describePrincipal } from '../../identity/principals.js';
import type { Interceptor } from '../pipeline.js';
import { callStatus, statusName } from '../status.js';

const GUARDED = new Set(['jack.BackgroundJobs', 'jack.AdminService', 'jack.Jobs']);
const ADMIN_WRITE = /^(Create|Update|Delete|Revoke)/;

/** `identity` undefined = AUTH_MODE=off: no credential asked, admin writes still audited. */
export function createAuthInterceptor(identity: Identity | undefined, logger: Logger): Interceptor {
  return (next, method) => {
    if (!GUARDED.has(method.service)) return next;
    const audited = method.service === 'jack.AdminService' && ADMIN_WRITE.test(method.method);
    const handler = audited ? audit(next, method.method, logger, identity !== undefined) : next;
    if (identity === undefined) return handler;
    const { authenticator, authorizer } = identity;
    /** Sets ctx.principal; a promise only when a new JWT must be verified. */
    const authenticate = (ctx: CallContext): Principal | Promise<Principal> => {
      const result = authenticator.authenticate(ctx.header('authorization'), () =>
        ctx.peerCertificate(),
      );
      if (!(result instanceof Promise)) {
        ctx.principal = result;
        return result;
      }
      return result.then((principal) => {
        ctx.principal = principal;
        return principal;
      });
    };
    if (!audited) {
      // Synchronous unless a new JWT must be verified: an API key or a
      // cached token costs no promise (a throw is a rejection, see compose).
      return (request, ctx) => {
        const result = authenticate(ctx);
        if (result instanceof Promise) {
          return result.then((principal) => {
            authorizer.authorizeCall(principal, method.service, method.method, request);
            return next(request, ctx);
          });
        }
        authorizer.authorizeCall(result, method.service, method.method, request);
        return next(request, ctx);
      };
    }
    // Audit sees refused admin writes too (no or a bad credential, or not an
    // admin): they are the interesting ones.
    return (request, ctx) =>
      handler(request, ctx, async () => {
        const principal = await authenticate(ctx);
        authorizer.authorizeCall(principal, method.service, method.method, request);
      });
  };
}

type AuditedHandler = (
  request: unknown,
  ctx: CallContext,
  before?: () => Promise<void>,
) => Promise<unknown>;

/** `authOn`: AUTH_MODE=on, where a call without a principal failed authentication. */
function audit(
  next: (request: unknown, ctx: CallContext) => Promise<unknown>,
  method: string,
  logger: Logger,
  authOn: boolean,
): AuditedHandler {
  return async (request, ctx, before) => {
    const line = (outcome: string, response?: unknown) =>
      logger.info(
        {
          audit: true,
          requestId: ctx.requestId,
          principal:
            ctx.principal !== undefined
              ? describePrincipal(ctx.principal)
              : authOn
                ? 'unauthenticated'
                : 'anonymous (AUTH_MODE=off)',
          method: `AdminService/${method}`,
          target: targets(request, response),
          outcome,
        },
        `audit: ${method} ${outcome}`,
      );
    try {
      await before?.();
      const response = await next(request, ctx);
      line('OK', response);
      return response;
    } catch (err) {
      line(statusName(callStatus(ctx, err).code));
      throw err;
    }
  };
}

interface Targets {
  producerId?: string;
  jobType?: string;
  keyId?: string;
}

/** Only ids, picked one by one (never a spread: CreateApiKeyResponse carries the token). */
function targets(request: unknown, response: unknown): Targets {
  const out: Targets = {};
  for (const source of [request, response]) {
    if (typeof source !== 'object' || source === null) continue;
    const r = source as Record<string, unknown>;
    for (const nested of [r, r.producer, r.jobType, r.apiKey]) {
      if (typeof nested !== 'object' || nested === null) continue;
      const n = nested as Record<string, unknown>;
      if (typeof n.producerId === 'string' && n.producerId !== '')
        out.producerId ??= bounded(n.producerId);
      if (typeof n.keyId === 'string' && n.keyId !== '') out.keyId ??= bounded(n.keyId);
      if (nested !== r && nested === r.jobType && typeof n.name === 'string')
        out.jobType ??= bounded(n.name);
    }
    if (source === request && typeof r.name === 'string' && r.name !== '' && 'producerId' in r) {
      out.jobType ??= bounded(r.name);
    }
  }
  return out;
}

/** A target id as logged: whatever a caller sent, at most 256 characters. */
function bounded(id: string): string {
  return id.length > 256 ? `${id.slice(0, 256)}…` : id;
}
