/** Calls by method and status code, with their duration. */
import { type Metrics, noopMetrics } from '../../metrics.js';
import type { Interceptor } from '../pipeline.js';
import { callStatus, statusName } from '../status.js';

export function metricsInterceptor(metrics: Metrics): Interceptor {
  // Without an exporter there is nothing to time: no wrapper at all.
  if (metrics === noopMetrics) return (next) => next;
  // Promise callbacks rather than an async wrapper: no extra promise and
  // tick per call on the hot path (docs/performance.md).
  return (next, info) => (request, ctx) => {
    const started = performance.now();
    return next(request, ctx).then(
      (response) => {
        metrics.callFinished(info.method, 'OK', (performance.now() - started) / 1000);
        return response;
      },
      (err: unknown) => {
        const seconds = (performance.now() - started) / 1000;
        metrics.callFinished(info.method, statusName(callStatus(ctx, err).code), seconds);
        throw err;
      },
    );
  };
}
