/**
 * One log line per failed call (and per call at debug), with the request id
 * the client also received. The cause of an error goes here, never on the
 * wire: the client gets the short message of `toStatus`. Expected refusals
 * (rate limited, idempotency key in progress) get at most one warn line per
 * producer per second, the rest at debug: see refusal-log.ts.
 */
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { JackError, toError } from '../../errors.js';
import { traceLogFields } from '../../tracing/log-fields.js';
import type { Interceptor } from '../pipeline.js';
import { callStatus, statusName } from '../status.js';
import { createRefusalSampler, isExpectedRefusal, refusalKey } from './refusal-log.js';

/** Codes that mean Jack itself has a problem: logged at error, the rest at warn. */
const SERVER_FAULTS: ReadonlySet<status> = new Set([status.UNKNOWN, status.INTERNAL]);

/** What went wrong underneath: the cause of a JackError, or the unexpected error itself. */
function underlying(err: unknown): Error | undefined {
  if (err instanceof JackError) return err.cause === undefined ? undefined : toError(err.cause);
  return toError(err);
}

export function loggingInterceptor(logger: Logger): Interceptor {
  // One sampler for every method: rate-limited and in-progress refusals (refusal-log.ts).
  const refusals = createRefusalSampler();
  // Promise callbacks rather than an async wrapper: no extra promise and
  // tick per call on the hot path (docs/performance.md).
  return (next, info) => (request, ctx) => {
    const started = performance.now();
    const failed = (err: unknown): never => {
      const { code, details } = callStatus(ctx, err);
      const fields = {
        method: info.method,
        code: statusName(code),
        details,
        requestId: ctx.requestId,
        principal: ctx.principal?.id,
        ms: Math.round(performance.now() - started),
        ...traceLogFields(ctx.trace),
      };
      const cause = underlying(err);
      const line = cause === undefined ? fields : { ...fields, err: cause };
      if (SERVER_FAULTS.has(code)) logger.error(line, 'call failed');
      else if (!isExpectedRefusal(err)) logger.warn(line, 'call failed');
      else {
        const sampled = refusals.take(refusalKey(info.method, fields.code, request));
        if (sampled.log) logger.warn({ ...line, suppressed: sampled.suppressed }, 'call failed');
        else logger.debug(line, 'call failed');
      }
      throw err;
    };
    if (!logger.isLevelEnabled('debug')) return next(request, ctx).then(undefined, failed);
    return next(request, ctx).then((response) => {
      const ms = Math.round(performance.now() - started);
      logger.debug(
        {
          method: info.method,
          code: 'OK',
          requestId: ctx.requestId,
          ms,
          ...traceLogFields(ctx.trace),
        },
        'call',
      );
      return response;
    }, failed);
  };
}
