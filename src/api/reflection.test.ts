import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadReflectionDefinition } from './reflection.js';

interface Field {
  name: string;
  typeName?: string;
}
interface Message {
  name: string;
  field: Field[];
  nestedType: Message[];
  enumType: Array<{ name: string }>;
  options?: { mapEntry?: boolean } | null;
}
interface File {
  name: string;
  package?: string;
  dependency: string[];
  messageType: Message[];
  enumType: Array<{ name: string }>;
  service: Array<{ name: string; method: Array<{ inputType: string; outputType: string }> }>;
}

const { FileDescriptorProto } = createRequire(import.meta.url)('protobufjs/ext/descriptor') as {
  FileDescriptorProto: { decode(bytes: Uint8Array): File };
};

/** The distinct files the ReflectionService will serve. */
function servedFiles(): File[] {
  const files = new Map<string, File>();
  for (const entry of Object.values(loadReflectionDefinition())) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? [];
    for (const bytes of protos) {
      const file = FileDescriptorProto.decode(bytes);
      files.set(file.name, file);
    }
  }
  return [...files.values()];
}

describe('reflection descriptors', () => {
  const files = servedFiles();
  const defined = new Map<string, string>();
  const collect = (scope: string, message: Message, file: string) => {
    defined.set(`${scope}.${message.name}`, file);
    for (const e of message.enumType) defined.set(`${scope}.${message.name}.${e.name}`, file);
    for (const n of message.nestedType) collect(`${scope}.${message.name}`, n, file);
  };
  for (const file of files) {
    for (const m of file.messageType) collect(`.${file.package}`, m, file.name);
    for (const e of file.enumType) defined.set(`.${file.package}.${e.name}`, file.name);
  }

  it('serves jack, health and Timestamp, with the field names of the .proto files', () => {
    expect(files.map((f) => f.package).sort()).toEqual([
      'google.protobuf',
      'grpc.health.v1',
      'jack',
    ]);
    const jack = files.find((f) => f.package === 'jack');
    const request = jack?.messageType.find((m) => m.name === 'EnqueueRequest');
    expect(request?.field.map((f) => f.name)).toEqual([
      'producer_id',
      'job_type',
      'payload',
      'run_at',
      'trace_id',
      'correlation_id',
      'idempotency_key',
    ]);
  });

  it('uses only fully-qualified references, each defined in the file or an import it declares', () => {
    const references: Array<{ file: File; name: string }> = [];
    const visit = (file: File, message: Message) => {
      for (const f of message.field) if (f.typeName) references.push({ file, name: f.typeName });
      for (const n of message.nestedType) visit(file, n);
    };
    for (const file of files) {
      for (const m of file.messageType) visit(file, m);
      for (const s of file.service) {
        for (const m of s.method) {
          references.push({ file, name: m.inputType }, { file, name: m.outputType });
        }
      }
    }
    expect(references.length).toBeGreaterThan(0);
    for (const { file, name } of references) {
      expect(name.startsWith('.'), `${file.name}: ${name}`).toBe(true);
      const owner = defined.get(name);
      expect(owner, `${file.name}: ${name} is defined nowhere`).toBeDefined();
      if (owner !== file.name) expect(file.dependency).toContain(owner);
    }
    expect(files.find((f) => f.package === 'jack')?.dependency).toEqual(['google_protobuf.proto']);
  });

  it('names map entry types the way protoc does (field `statuses` → `StatusesEntry`)', () => {
    const health = files.find((f) => f.package === 'grpc.health.v1');
    const list = health?.messageType.find((m) => m.name === 'HealthListResponse');
    const entry = list?.nestedType.find((n) => n.options?.mapEntry === true);
    expect(entry?.name).toBe('StatusesEntry');
    expect(list?.field.find((f) => f.name === 'statuses')?.typeName).toBe(
      '.grpc.health.v1.HealthListResponse.StatusesEntry',
    );
  });
});
