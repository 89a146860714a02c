/**
 * Response encoding for the hot methods. ts-proto's serializer makes a new
 * BinaryWriter per response (its buffer allocated and grown from scratch),
 * copies the bytes out of it and copies them again into a Buffer; grpc-js
 * then copies them into its frame. Writing through one reused writer and
 * handing grpc-js a view of the copy `finish()` makes removes a buffer
 * allocation and a copy per response (encoding is synchronous, so one
 * writer per method is never shared by two responses at once).
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

/** The part of a ts-proto message's functions a serializer needs. */
export interface MessageEncoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

/** A grpc-js serializer for `fns`' message that reuses one BinaryWriter. */
export function reusingSerializer<T>(fns: MessageEncoder<T>): (value: T) => Buffer {
  const writer = new BinaryWriter();
  return (value) => {
    let bytes: Uint8Array;
    try {
      bytes = fns.encode(value, writer).finish();
    } catch (err) {
      writer.finish(); // resets the position and forks a failed encode left behind
      throw err;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** A copy of `definition` whose listed methods encode their responses through reused writers. */
export function withReusedWriters<D extends ServiceDefinition>(
  definition: D,
  encoders: { [K in keyof D]?: MessageEncoder<never> },
): D {
  const copy: Record<string, MethodDefinition<unknown, unknown>> = { ...definition };
  for (const [key, fns] of Object.entries(encoders)) {
    const method = definition[key] as MethodDefinition<unknown, unknown>;
    copy[key] = {
      ...method,
      responseSerialize: reusingSerializer(fns as MessageEncoder<unknown>),
    };
  }
  return copy as D;
}
