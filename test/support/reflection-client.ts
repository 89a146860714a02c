/**
 * A gRPC server-reflection client, built the way grpcurl works: from the
 * reflection protos shipped with @grpc/reflection (no jack proto at hand).
 * Speaks grpc.reflection.v1 and v1alpha (same messages, different package).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '../../src/api/proto.js';

export type ReflectionVersion = 'v1' | 'v1alpha';

/** `build/proto` of the installed @grpc/reflection, found through module resolution. */
const REFLECTION_PROTO_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
  'build',
  'proto',
);

interface ReflectionRequest {
  host?: string;
  listServices?: string;
  fileContainingSymbol?: string;
  fileByFilename?: string;
}

interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionStream = ClientDuplexStream<ReflectionRequest, ReflectionResponse>;

function reflectionClientConstructor(version: ReflectionVersion): ServiceClientConstructor {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [REFLECTION_PROTO_DIR],
  });
  const grpcNamespace = loadPackageDefinition(definition).grpc as GrpcObject;
  const reflection = grpcNamespace.reflection as GrpcObject;
  return (reflection[version] as GrpcObject).ServerReflection as ServiceClientConstructor;
}

export interface ReflectionClient {
  /** Fully-qualified names of the services the server lists. */
  listServices(): Promise<string[]>;
  /** Serialized FileDescriptorProtos of the file defining `symbol` and its dependencies. */
  fileContainingSymbol(symbol: string): Promise<Buffer[]>;
  close(): void;
}

export function createReflectionClient(
  address: string,
  version: ReflectionVersion,
  creds: ChannelCredentials = credentials.createInsecure(),
): ReflectionClient {
  const Ctor = reflectionClientConstructor(version);
  const client = new Ctor(address, creds);

  /** One request on its own stream, as grpcurl does per question. */
  const ask = (request: ReflectionRequest): Promise<ReflectionResponse> =>
    new Promise((resolve, reject) => {
      const stream = (
        client as unknown as { serverReflectionInfo(): ReflectionStream }
      ).serverReflectionInfo();
      let answered = false;
      stream.on('data', (response: ReflectionResponse) => {
        answered = true;
        stream.end();
        if (response.errorResponse) {
          reject(
            new Error(
              `reflection error ${response.errorResponse.errorCode}: ${response.errorResponse.errorMessage}`,
            ),
          );
        } else resolve(response);
      });
      stream.on('error', (err) => {
        if (!answered) reject(err);
      });
      stream.on('end', () => {
        if (!answered) reject(new Error('reflection stream ended without an answer'));
      });
      stream.write({ host: '', ...request });
    });

  return {
    async listServices() {
      const response = await ask({ listServices: '' });
      return (response.listServicesResponse?.service ?? []).map((s) => s.name);
    },
    async fileContainingSymbol(symbol) {
      const response = await ask({ fileContainingSymbol: symbol });
      return response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    },
    close() {
      client.close();
    },
  };
}

/** Protobuf varint, for the one message we encode by hand below. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/**
 * `google.protobuf.FileDescriptorSet { repeated FileDescriptorProto file = 1; }`
 * from serialized files: each one is field 1, wire type 2 (tag 0x0a).
 * Duplicates (a file returned twice) are dropped.
 */
export function fileDescriptorSet(files: readonly Buffer[]): Buffer {
  const unique = new Map(files.map((f) => [f.toString('base64'), f]));
  return Buffer.concat(
    [...unique.values()].flatMap((f) => [Buffer.from([0x0a]), varint(f.length), f]),
  );
}

/**
 * A generic grpc-js client constructor for `service` (fully qualified, e.g.
 * `jack.AdminService`) built from descriptors only. Methods take and return
 * plain objects with camelCase fields.
 */
export function clientFromDescriptors(
  files: readonly Buffer[],
  service: string,
): new (
  address: string,
  creds: ChannelCredentials,
) => Client {
  const definition = loadFileDescriptorSetFromBuffer(
    fileDescriptorSet(files),
    PROTO_LOADER_OPTIONS,
  );
  let node: unknown = loadPackageDefinition(definition);
  for (const part of service.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== 'function') throw new Error(`${service} is not in the descriptors`);
  return node as ServiceClientConstructor;
}
