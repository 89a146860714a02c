/**
 * SPEC §5: an adapter that talks to Google with Application Default
 * Credentials checks at startup that there are any, and otherwise stops the
 * process with one line that says what to fix. Left to the client library,
 * missing credentials surface at the first call — for a gax client (Cloud
 * Tasks, Pub/Sub) as a rejected stub promise nobody awaits, i.e. an
 * unhandled rejection with a stack.
 */
import { JackError, toError } from './errors.js';
import { withTimeout } from './timeout.js';

/** What every Google client exposes as its credentials: google-auth-library's GoogleAuth. */
export interface GoogleAuthLike {
  getClient(): Promise<unknown>;
}

/**
 * Finding credentials may ask the GCE metadata server, which on a laptop
 * does not answer: google-auth-library gives up after a few seconds itself;
 * this bounds it in any case.
 */
const LOOKUP_TIMEOUT_MS = 10_000;

export const CREDENTIALS_FIX =
  'set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, run `gcloud auth application-default login`, or run with an attached service account';

/**
 * Resolves once `auth` has found credentials.
 * @param who the adapter and the variables that chose it, e.g. `the Cloud Tasks scheduler (CLOUD_TASKS_PROJECT)`
 * @param alternative another fix that applies to this adapter only (an emulator)
 * @throws JackError failed_precondition: "<who> has no Google credentials: <fix>", the library's reason as the cause
 */
export async function requireGoogleCredentials(
  auth: GoogleAuthLike,
  who: string,
  alternative?: string,
): Promise<void> {
  try {
    await withTimeout(auth.getClient(), LOOKUP_TIMEOUT_MS, () => {
      throw new Error(`no credentials found within ${LOOKUP_TIMEOUT_MS / 1000} s`);
    });
  } catch (err) {
    // The library's reason (which file, which lookup) is the operator's detail.
    const reason = toError(err).message.split('\n')[0] ?? '';
    throw new JackError(
      'failed_precondition',
      `${who} has no Google credentials: ${CREDENTIALS_FIX}${alternative === undefined ? '' : `; or ${alternative}`}`,
      {
        cause: new JackError('failed_precondition', reason, { cause: err }),
      },
    );
  }
}
