/**
 * The thin middleware every unary handler goes through: it times the call,
 * maps errors to a status in one place, logs failed calls (and every call at
 * debug), and reports metrics. Admission control (auth, rate limits) will sit
 * here too.
 */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { statusName, toStatus } from './status.js';

export interface HandlerDeps {
  logger: Logger;
  metrics: Metrics;
  calls: CallTracker;
}

export function unary<Req, Res>(
  deps: HandlerDeps,
  method: string,
  fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  const { logger, metrics, calls } = deps;
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = performance.now();
    calls.start();
    // try/catch around fn: a synchronous throw must become a status too.
    let result: Promise<Res>;
    try {
      result = fn(call.request, call);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => {
        const seconds = (performance.now() - started) / 1000;
        metrics.callFinished(method, 'OK', seconds);
        if (logger.isLevelEnabled('debug')) {
          logger.debug({ method, code: 'OK', ms: Math.round(seconds * 1000) }, 'call');
        }
        callback(null, response);
        calls.finish();
      },
      (err: unknown) => {
        const seconds = (performance.now() - started) / 1000;
        const { code, details, metadata } = toStatus(err);
        const name = statusName(code);
        metrics.callFinished(method, name, seconds);
        const fields = { method, code: name, details, ms: Math.round(seconds * 1000) };
        if (code === status.UNKNOWN || code === status.INTERNAL)
          logger.error({ ...fields, err }, 'call failed');
        else logger.warn(fields, 'call failed');
        callback({ code, details, metadata: metadata ?? new Metadata() });
        calls.finish();
      },
    );
  };
}

/** True when the call carries metadata `shadow: true` (value case-insensitive). */
export function isShadow(metadata: Metadata): boolean {
  const values = metadata.get('shadow');
  return values.some((v) => typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

/**
 * Counts unary calls in flight, so shutdown can wait for exactly those (a
 * health Watch stream never ends by itself and must not hold shutdown up).
 */
export interface CallTracker {
  readonly inFlight: number;
  start(): void;
  finish(): void;
  /** Resolves when no call is in flight. */
  idle(): Promise<void>;
}

export function createCallTracker(): CallTracker {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  return {
    get inFlight() {
      return inFlight;
    },
    start() {
      inFlight++;
    },
    finish() {
      inFlight--;
      if (inFlight === 0 && waiters.length > 0) {
        const ready = waiters;
        waiters = [];
        for (const resolve of ready) resolve();
      }
    },
    idle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
