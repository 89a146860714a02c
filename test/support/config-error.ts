/** The ConfigError that `loadConfig(env)` throws, for the config unit tests. */
import { ConfigError, loadConfig } from '../../src/config/index.js';

/** Fails the test when `env` is accepted. */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}
