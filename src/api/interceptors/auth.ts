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
import { statusName, toStatus } from '../status.js';

const GUARDED = new Set(['jack.BackgroundJobs', 'jack.AdminService']);
const ADMIN_WRITE = /^(Create|Update|Delete|Revoke)/;

/** `identity` undefined = AUTH_MODE=off: no credential asked, admin writes still audited. */
export function createAuthInterceptor(identity: Identity | undefined, logger: Logger): Interceptor {
  return (next, method) => {
    if (!GUARDED.has(method.service)) return next;
    const audited = method.service === 'jack.AdminService' && ADMIN_WRITE.test(method.method);
    const handler = audited ? audit(next, method.method, logger) : next;
    if (identity === undefined) return handler;
    const { authenticator, authorizer } = identity;
    return async (request, ctx) => {
      const result = authenticator.authenticate(ctx.header('authorization'), () =>
        ctx.peerCertificate(),
      );
      ctx.principal = result instanceof Promise ? await result : result;
      if (!audited) {
        authorizer.authorizeCall(ctx.principal, method.service, method.method, request);
        return next(request, ctx);
      }
      // Audit sees denied admin writes too: they are the interesting ones.
      return handler(request, ctx, () =>
        authorizer.authorizeCall(
          ctx.principal as Principal,
          method.service,
          method.method,
          request,
        ),
      );
    };
  };
}

type AuditedHandler = (request: unknown, ctx: CallContext, before?: () => void) => Promise<unknown>;

function audit(
  next: (request: unknown, ctx: CallContext) => Promise<unknown>,
  method: string,
  logger: Logger,
): AuditedHandler {
  return async (request, ctx, before) => {
    const line = (outcome: string, response?: unknown) =>
      logger.info(
        {
          audit: true,
          requestId: ctx.requestId,
          principal:
            ctx.principal === undefined
              ? 'anonymous (AUTH_MODE=off)'
              : describePrincipal(ctx.principal),
          method: `AdminService/${method}`,
          target: targets(request, response),
          outcome,
        },
        `audit: ${method} ${outcome}`,
      );
    try {
      before?.();
      const response = await next(request, ctx);
      line('OK', response);
      return response;
    } catch (err) {
      line(statusName(toStatus(err).code));
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
      if (typeof n.producerId === 'string' && n.producerId !== '') out.producerId ??= n.producerId;
      if (typeof n.keyId === 'string' && n.keyId !== '') out.keyId ??= n.keyId;
      if (nested !== r && nested === r.jobType && typeof n.name === 'string')
        out.jobType ??= n.name;
    }
    if (source === request && typeof r.name === 'string' && r.name !== '' && 'producerId' in r) {
      out.jobType ??= r.name;
    }
  }
  return out;
}
