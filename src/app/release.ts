/** Startup's release list: what `startApp` opened, closed in reverse order. */

export type Releaser = () => Promise<void>;

/** Runs releasers last-in-first-out; every one runs, the first error is rethrown. */
export async function release(releasers: Releaser[]): Promise<void> {
  let first: unknown;
  for (const fn of [...releasers].reverse()) {
    try {
      await fn();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
