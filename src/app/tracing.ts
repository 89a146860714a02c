/**
 * Everything tracing adds to the app, in one module that app.ts imports
 * only when tracing is on: with it off, no OpenTelemetry SDK code is loaded.
 */
import { tracingInterceptor } from '../api/interceptors/tracing.js';
import type { Interceptor } from '../api/pipeline.js';
import type { BackendConfig, TracingConfig } from '../config/index.js';
import type { Backend, Priority } from '../queue/backend.js';
import { tracedBackend } from '../queue/traced-backend.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { tracedScheduler } from '../scheduler/traced-scheduler.js';
import { startTracing, type TracingOptions } from '../tracing/tracing.js';

export interface CallTracing {
  interceptor: Interceptor;
  backend(inner: Backend): Backend;
  scheduler(inner: Scheduler): Scheduler;
  shutdown(): Promise<void>;
}

/** The topic a priority's messages land on: a span's `messaging.destination.name`. */
export function destinationOf(backend: BackendConfig): (priority: Priority) => string {
  if (backend.kind !== 'pubsub') return (priority) => priority;
  const { topics } = backend;
  return (priority) => topics[priority] ?? topics.medium;
}

export async function startCallTracing(
  config: TracingConfig,
  backendConfig: BackendConfig,
  options: TracingOptions = {},
): Promise<CallTracing> {
  const tracing = await startTracing(config, options);
  const destination = destinationOf(backendConfig);
  return {
    interceptor: tracingInterceptor(tracing),
    backend: (inner) => tracedBackend(inner, tracing.tracer, destination),
    scheduler: (inner) => tracedScheduler(inner, tracing.tracer, destination),
    shutdown: () => tracing.shutdown(),
  };
}
