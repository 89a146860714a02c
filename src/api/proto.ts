/**
 * The .proto files loaded at runtime, in one place: reflection serves their
 * descriptors (so grpcurl needs no proto files) and tests build dynamic
 * clients from them. Request handling uses the ts-proto generated code.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** `proto/` at the project root (next to `src/` and `dist/`). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

export const JACK_PROTO_FILES = [
  'jack/jack.proto',
  'jack/admin.proto',
  'jack/jobs.proto',
  'jack/storage.proto',
];

/** The health proto shipped with grpc-health-check, so reflection lists the Health service too. */
const HEALTH_PROTO: string = createRequire(import.meta.url)('grpc-health-check').protoPath;

/**
 * How proto-loader turns messages into objects, for every load in the
 * project (runtime, test clients and fakes): camelCase fields, 64-bit
 * integers and enums as strings, defaults filled in, oneofs named.
 */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** PROTO_LOADER_OPTIONS with the include paths of Jack's own .proto files. */
export const LOAD_OPTIONS: Options = {
  ...PROTO_LOADER_OPTIONS,
  includeDirs: [PROTO_DIR, join(dirname(HEALTH_PROTO), '..', '..')],
};

let cached: PackageDefinition | undefined;

/** Package definition of jack.* and grpc.health.v1, loaded once. */
export function loadPackageDefinition(): PackageDefinition {
  cached ??= loadSync([...JACK_PROTO_FILES, 'health/v1/health.proto'], LOAD_OPTIONS);
  return cached;
}
