/**
 * Calls Jack with the Connect protocol over fetch: JSON for unary calls,
 * Connect's enveloped JSON for the server stream of WatchJob. Refusals keep
 * Jack's own `{code, message}`.
 */

const KEY_STORAGE = 'jack.apiKey';

/** The API key of this tab only (sessionStorage: gone when the tab closes). */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY_STORAGE),
  set: (key: string) => sessionStorage.setItem(KEY_STORAGE, key),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headers(contentType: string, key: string | null): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': contentType,
    'connect-protocol-version': '1',
  };
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function errorOf(res: Response): Promise<RpcError> {
  try {
    const body = (await res.json()) as { code?: string; message?: string };
    return new RpcError(body.code ?? 'unknown', body.message ?? `HTTP ${res.status}`);
  } catch {
    return new RpcError('unavailable', `Jack answered HTTP ${res.status}`);
  }
}

/** One unary call: `call('jack.AdminService/ListProducers', {pageSize: 20})`. */
export async function call<T = Record<string, unknown>>(
  method: string,
  body: unknown,
  key: string | null = apiKey.get(),
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/${method}`, {
      method: 'POST',
      headers: headers('application/json', key),
      body: JSON.stringify(body),
      credentials: 'omit',
    });
  } catch {
    throw new RpcError('unavailable', 'Jack cannot be reached');
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/**
 * A server-streaming call: each message to `onMessage` until the stream ends
 * (resolves) or fails (rejects with Jack's error). `signal` stops it.
 */
export async function stream<T>(
  method: string,
  body: unknown,
  onMessage: (message: T) => void,
  signal: AbortSignal,
): Promise<void> {
  const json = new TextEncoder().encode(JSON.stringify(body));
  const envelope = new Uint8Array(5 + json.length);
  new DataView(envelope.buffer).setUint32(1, json.length);
  envelope.set(json, 5);
  let res: Response;
  try {
    res = await fetch(`/${method}`, {
      method: 'POST',
      headers: headers('application/connect+json', apiKey.get()),
      body: envelope,
      credentials: 'omit',
      signal,
    });
  } catch (err) {
    if (signal.aborted) return;
    throw new RpcError('unavailable', `Jack cannot be reached (${String(err)})`);
  }
  if (!res.ok || res.body === null) throw await errorOf(res);
  const reader = res.body.getReader();
  let buffer = new Uint8Array(0);
  const decoder = new TextDecoder();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      if (signal.aborted) return;
      throw new RpcError('unavailable', 'the stream from Jack was cut');
    }
    if (chunk.done) throw new RpcError('unavailable', 'the stream from Jack ended early');
    const joined = new Uint8Array(buffer.length + chunk.value.length);
    joined.set(buffer);
    joined.set(chunk.value, buffer.length);
    buffer = joined;
    while (buffer.length >= 5) {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const flags = view.getUint8(0);
      const length = view.getUint32(1);
      if (buffer.length < 5 + length) break;
      const data = JSON.parse(decoder.decode(buffer.subarray(5, 5 + length))) as unknown;
      buffer = buffer.slice(5 + length);
      if ((flags & 0b10) !== 0) {
        const end = data as { error?: { code?: string; message?: string } };
        if (end.error) throw new RpcError(end.error.code ?? 'unknown', end.error.message ?? '');
        return;
      }
      onMessage(data as T);
    }
  }
}
