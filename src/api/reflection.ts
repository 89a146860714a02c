/**
 * Descriptors for server reflection that strict clients accept.
 *
 * `@grpc/reflection` serves the FileDescriptorProtos that proto-loader builds
 * with protobufjs, and those are not valid descriptors for protoc-based tools
 * (grpcurl, buf curl, grpc_cli), which then cannot `describe` or call
 * anything (grpc/grpc-node#3034):
 * - no file lists its imports (`dependency` is empty), so a reference to
 *   `google.protobuf.Timestamp` cannot be resolved;
 * - map entry types are named after the field (`Statuses`) instead of
 *   `StatusesEntry`, which protoc's validation rejects;
 * - some type references are relative;
 * - scalar fields carry an explicit empty `type_name: ""`, which protoc
 *   rejects ("" is not defined) while Go tools tolerate it.
 * This module repairs the descriptors once at startup; the repaired package
 * definition goes to the ReflectionService only (request handling does not
 * use it).
 */
import { createRequire } from 'node:module';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { JACK_PROTO_FILES, LOAD_OPTIONS } from './proto.js';

interface FieldDescriptor {
  name: string;
  typeName?: string | undefined;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  enumType: Array<{ name: string }>;
  options?: { mapEntry?: boolean } | null;
}
interface FileDescriptor {
  name: string;
  package?: string;
  dependency: string[];
  messageType: MessageDescriptor[];
  enumType: Array<{ name: string }>;
  service: Array<{ method: Array<{ inputType?: string; outputType?: string }> }>;
}
interface DescriptorCodec {
  decode(bytes: Uint8Array): FileDescriptor;
  encode(file: FileDescriptor): { finish(): Uint8Array };
}

// protobufjs is CommonJS; its descriptor extension is what @grpc/reflection uses too.
const { FileDescriptorProto } = createRequire(import.meta.url)('protobufjs/ext/descriptor') as {
  FileDescriptorProto: DescriptorCodec;
};

/** `statuses` → `StatusesEntry`, the name protoc gives a map field's entry type. */
function mapEntryName(fieldName: string): string {
  const camel = fieldName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

/** Renames map entry types and points their fields at the new names. */
function fixMapEntries(message: MessageDescriptor): void {
  for (const field of message.field) {
    const entry = message.nestedType.find(
      (n) => n.options?.mapEntry === true && n.name === field.typeName?.split('.').pop(),
    );
    if (entry === undefined) continue;
    const name = mapEntryName(field.name);
    if (field.typeName !== undefined) {
      field.typeName = `${field.typeName.slice(0, field.typeName.length - entry.name.length)}${name}`;
    }
    entry.name = name;
  }
  for (const nested of message.nestedType) fixMapEntries(nested);
}

/**
 * Returns a copy of `definition` whose FileDescriptorProtos declare their
 * imports, use fully-qualified type names and protoc's map entry names.
 */
export function reflectionDescriptors(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileDescriptor>();
  for (const entry of Object.values(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    for (const bytes of protos ?? []) {
      const file = FileDescriptorProto.decode(bytes);
      if (!files.has(file.name)) files.set(file.name, file);
    }
  }

  // Every message and enum, fully qualified with a leading dot → its file.
  const symbols = new Map<string, string>();
  const index = (scope: string, message: MessageDescriptor, file: string) => {
    const name = `${scope}.${message.name}`;
    symbols.set(name, file);
    for (const e of message.enumType) symbols.set(`${name}.${e.name}`, file);
    for (const nested of message.nestedType) index(name, nested, file);
  };
  for (const file of files.values()) {
    for (const message of file.messageType) fixMapEntries(message);
    const scope = file.package ? `.${file.package}` : '';
    for (const message of file.messageType) index(scope, message, file.name);
    for (const e of file.enumType) symbols.set(`${scope}.${e.name}`, file.name);
  }

  /** Resolves a reference the way protoc does: innermost scope first. */
  const resolve = (reference: string, scope: string): string => {
    if (reference.startsWith('.')) return reference;
    for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf('.')))) {
      const candidate = `${s}.${reference}`;
      if (symbols.has(candidate)) return candidate;
      if (s === '') return reference;
    }
  };

  const fixed: Record<string, unknown> = {};
  const encoded: Buffer[] = [];
  for (const file of files.values()) {
    const dependencies = new Set<string>();
    const use = (reference: string | undefined, scope: string): string | undefined => {
      if (reference === undefined || reference === '') return undefined;
      const qualified = resolve(reference, scope);
      const owner = symbols.get(qualified);
      if (owner !== undefined && owner !== file.name) dependencies.add(owner);
      return qualified;
    };
    const scope = file.package ? `.${file.package}` : '';
    const visit = (message: MessageDescriptor, outer: string) => {
      const name = `${outer}.${message.name}`;
      for (const field of message.field) {
        // An absent type_name, not an empty one: protobufjs encodes any
        // own property, so the key itself must go.
        const typeName = use(field.typeName, name);
        if (typeName === undefined) delete field.typeName;
        else field.typeName = typeName;
      }
      for (const nested of message.nestedType) visit(nested, name);
    };
    for (const message of file.messageType) visit(message, scope);
    for (const service of file.service) {
      for (const method of service.method) {
        method.inputType = use(method.inputType, scope);
        method.outputType = use(method.outputType, scope);
      }
    }
    file.dependency = [...dependencies].sort();
    encoded.push(Buffer.from(FileDescriptorProto.encode(file).finish()));
  }
  // The ReflectionService reads only `fileDescriptorProtos` of each entry.
  for (const [name, entry] of Object.entries(definition)) {
    fixed[name] = { ...entry, fileDescriptorProtos: encoded };
  }
  return fixed as unknown as PackageDefinition;
}

/**
 * The package definition the ReflectionService serves: jack.* and
 * grpc.health.v1 loaded with the field names of the .proto files
 * (`producer_id`, not `producerId`: tools show them and accept both in JSON),
 * with repaired descriptors.
 */
export function loadReflectionDefinition(): PackageDefinition {
  return reflectionDescriptors(
    loadSync([...JACK_PROTO_FILES, 'health/v1/health.proto'], { ...LOAD_OPTIONS, keepCase: true }),
  );
}
