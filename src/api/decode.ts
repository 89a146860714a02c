/**
 * Strict UTF-8 for request string fields (SPEC §6; proto3 requires it and
 * grpc-go refuses it too).
 *
 * The ts-proto decoders read strings with protobufjs's Reader, which turns
 * invalid UTF-8 into U+FFFD instead of failing: a producer_id of bad bytes
 * would be stored and published as "\uFFFD". A decoded request whose strings
 * hold no U+FFFD cannot have had invalid UTF-8, so only those (rare) requests
 * are checked again: the raw bytes are walked along the message's schema
 * and every string field is decoded with a fatal TextDecoder. The first bad
 * one is refused as INVALID_ARGUMENT naming its field path (`jobs[2].job_type`).
 */
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { JackError } from '../errors.js';
import { JACK_PROTO_FILES, LOAD_OPTIONS } from './proto.js';

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
}
/** A message type with its fully qualified name (for resolving relative references). */
interface Schema {
  fullName: string;
  descriptor: MessageDescriptor;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

let definitions: PackageDefinition | undefined;
/** Field names as in the .proto files: they name the field in the error. */
function loadDefinitions(): PackageDefinition {
  definitions ??= loadSync(JACK_PROTO_FILES, { ...LOAD_OPTIONS, keepCase: true });
  return definitions;
}

function messageSchema(fullName: string): Schema | undefined {
  const entry = loadDefinitions()[fullName] as { type?: MessageDescriptor } | undefined;
  const descriptor = entry?.type;
  return descriptor?.field === undefined ? undefined : { fullName, descriptor };
}

/** Resolves `typeName` as protoc does: from the innermost scope of `from` outwards. */
function resolveType(typeName: string, from: Schema): Schema | undefined {
  if (typeName.startsWith('.')) return messageSchema(typeName.slice(1));
  const nested = from.descriptor.nestedType?.find((n) => n.name === typeName);
  if (nested !== undefined) return { fullName: `${from.fullName}.${typeName}`, descriptor: nested };
  let scope = from.fullName;
  while (scope !== '') {
    scope = scope.includes('.') ? scope.slice(0, scope.lastIndexOf('.')) : '';
    const found = messageSchema(scope === '' ? typeName : `${scope}.${typeName}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The request message schema of a method path (`/jack.BackgroundJobs/Enqueue`). */
function requestSchema(path: string): Schema | undefined {
  const [, service, method] = path.split('/');
  if (service === undefined || method === undefined) return undefined;
  const entry = loadDefinitions()[service] as
    | Record<string, { requestType?: { type?: MessageDescriptor } }>
    | undefined;
  const descriptor = entry?.[method]?.requestType?.type;
  if (descriptor === undefined) return undefined;
  return {
    fullName: `${service.slice(0, service.lastIndexOf('.'))}.${descriptor.name}`,
    descriptor,
  };
}

/** True when any string in the decoded value holds U+FFFD (what bad UTF-8 became). */
export function hasReplacementChar(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array || value instanceof Date) return false;
  if (Array.isArray(value)) return value.some(hasReplacementChar);
  for (const key in value) {
    if (hasReplacementChar((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

class Cursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.pos++] as number;
      // Beyond 2^53 the value is wrong but only tags and lengths are used.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }
  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.pos) throw new Error('truncated field');
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(this.varint());
    else if (wireType === 5) this.take(4);
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

/** Throws JackError naming the first string field (path) that is not valid UTF-8. */
function checkMessage(bytes: Uint8Array, schema: Schema, path: string): void {
  const cursor = new Cursor(bytes);
  const counts = new Map<number, number>();
  while (!cursor.done) {
    const tag = cursor.varint();
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    const field = schema.descriptor.field.find((f) => f.number === number);
    if (field === undefined || wireType !== 2) {
      cursor.skip(wireType);
      continue;
    }
    const value = cursor.take(cursor.varint());
    const index = counts.get(number) ?? 0;
    counts.set(number, index + 1);
    const name = `${path}${field.name}${field.label === 'LABEL_REPEATED' ? `[${index}]` : ''}`;
    if (field.type === 'TYPE_STRING') {
      try {
        fatalUtf8.decode(value);
      } catch {
        throw new JackError('invalid_argument', `${name} is not valid UTF-8`);
      }
    } else if (field.type === 'TYPE_MESSAGE') {
      const nested = resolveType(field.typeName, schema);
      if (nested !== undefined) checkMessage(value, nested, `${name}.`);
    }
  }
}

/**
 * Wraps a request decoder: a request whose strings came out with U+FFFD is
 * re-checked byte by byte and refused when a string field is not UTF-8.
 */
export function strictUtf8<T>(path: string, decode: (bytes: Buffer) => T): (bytes: Buffer) => T {
  let schema: Schema | undefined | null = null;
  return (bytes) => {
    const request = decode(bytes);
    if (!hasReplacementChar(request)) return request;
    if (schema === null) schema = requestSchema(path);
    if (schema !== undefined) checkMessage(bytes, schema, '');
    return request;
  };
}
