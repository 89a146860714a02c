/** Calls by method and status code, with their duration. */
import { type Metrics, noopMetrics } from '../../metrics.js';
import type { Interceptor } from '../pipeline.js';
import { statusName, toStatus } from '../status.js';

export function metricsInterceptor(metrics: Metrics): Interceptor {
  // Without an exporter there is nothing to time: no wrapper at all.
  if (metrics === noopMetrics) return (next) => next;
  return (next, info) => async (request, ctx) => {
    const started = performance.now();
    try {
      const response = await next(request, ctx);
      metrics.callFinished(info.method, 'OK', (performance.now() - started) / 1000);
      return response;
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      metrics.callFinished(info.method, statusName(toStatus(err).code), seconds);
      throw err;
    }
  };
}
