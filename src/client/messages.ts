/**
 * Requests as callers write them: any field may be left out. Each request is
 * completed with the generated codec's own defaults (decoding zero bytes
 * yields exactly the proto3 defaults), nested messages too, so nothing here
 * restates a message by hand.
 */
import { EnqueueRequest } from '../gen/jack/jack.js';
import { JobType, Producer } from '../gen/jack/storage.js';

/** A message with every field optional, nested messages included. */
export type Init<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends Date | Buffer | Uint8Array
    ? T[K]
    : NonNullable<T[K]> extends readonly (infer U)[]
      ? U extends object
        ? Init<U>[]
        : T[K]
      : NonNullable<T[K]> extends object
        ? Init<NonNullable<T[K]>>
        : T[K];
};

const EMPTY = Buffer.alloc(0);

/** `init` over the defaults that `decode` yields for zero bytes; undefined fields keep the default. */
export function withDefaults<T extends object>(
  decode: (bytes: Buffer) => T,
  init: object | undefined,
): T {
  const message = decode(EMPTY) as Record<string, unknown>;
  for (const [key, value] of Object.entries(init ?? {})) {
    if (value !== undefined) message[key] = value;
  }
  return message as T;
}

/** Nested messages of requests, completed the same way before encoding. */
export const nested = {
  enqueueRequest: (init: Init<EnqueueRequest>) =>
    withDefaults((b) => EnqueueRequest.decode(b), init),
  producer: (init: Init<Producer> | undefined) =>
    init === undefined ? undefined : withDefaults((b) => Producer.decode(b), init),
  jobType: (init: Init<JobType> | undefined) =>
    init === undefined ? undefined : withDefaults((b) => JobType.decode(b), init),
};
