/** TEMPORARY copy of the pipeline types planned for "[core]"; the merge takes main's file. */
import type { CallContext } from '../context.js';

export type Handler = (request: unknown, ctx: CallContext) => Promise<unknown>;
export type Interceptor = (
  next: Handler,
  method: { service: string; method: string; path: string },
) => Handler;
