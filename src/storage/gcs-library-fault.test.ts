import { describe, expect, it } from 'vitest';
import { isGcsLibraryStreamFault } from './gcs-library-fault.js';

/** The rejection as teeny-request raises it (the stack of the CI run where it showed). */
function fault(code: string, frame: string): Error {
  const err = Object.assign(new Error('Cannot pipe to a closed or destroyed stream'), { code });
  err.stack = `Error: Cannot pipe to a closed or destroyed stream\n    at pipelineImpl (node:internal/streams/pipeline:264:15)\n    at ${frame}`;
  return err;
}

describe('isGcsLibraryStreamFault', () => {
  it("recognises teeny-request's pipe into a destroyed stream", () => {
    const frame =
      'PassThrough.<anonymous> (/app/node_modules/teeny-request/build/src/index.js:461:43)';
    expect(isGcsLibraryStreamFault(fault('ERR_STREAM_UNABLE_TO_PIPE', frame))).toBe(true);
  });

  it('leaves every other rejection to crash the process as before', () => {
    const ours = 'createCachedStore (/app/dist/storage/cached-store.js:10:5)';
    expect(isGcsLibraryStreamFault(fault('ERR_STREAM_UNABLE_TO_PIPE', ours))).toBe(false);
    const frame =
      'PassThrough.<anonymous> (/app/node_modules/teeny-request/build/src/index.js:461:43)';
    expect(isGcsLibraryStreamFault(fault('ECONNRESET', frame))).toBe(false);
    expect(isGcsLibraryStreamFault(new Error('boom'))).toBe(false);
    expect(isGcsLibraryStreamFault('ERR_STREAM_UNABLE_TO_PIPE teeny-request')).toBe(false);
    expect(isGcsLibraryStreamFault(undefined)).toBe(false);
  });
});
