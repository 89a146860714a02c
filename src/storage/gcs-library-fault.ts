/**
 * A fault of the GCS client's HTTP layer that must not end the process.
 * teeny-request 11 (under @google-cloud/storage) pipes a response into its
 * request stream from inside a promise callback; when that stream was
 * destroyed before the response came (a retry or an abort while GCS is
 * failing), Node's `stream.pipeline` throws ERR_STREAM_UNABLE_TO_PIPE there,
 * and the throw surfaces as an unhandled rejection. The request it belonged
 * to has already failed and been retried or reported, so nothing is lost;
 * Node's default for an unhandled rejection would stop Jack in the middle
 * of a store outage, which SPEC §5 says Jack rides out on its snapshot.
 */
export function isGcsLibraryStreamFault(reason: unknown): boolean {
  if (typeof reason !== 'object' || reason === null) return false;
  const { code, stack } = reason as { code?: unknown; stack?: unknown };
  return (
    code === 'ERR_STREAM_UNABLE_TO_PIPE' &&
    typeof stack === 'string' &&
    stack.includes('teeny-request')
  );
}
