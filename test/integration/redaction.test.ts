/**
 * SPEC §6: credentials in URL settings never reach stdout or stderr, also
 * in the startup config line and when startup fails on that very endpoint.
 */
import { describe, expect, it } from 'vitest';
import { runToExit } from '../support/spawn.js';

describe('secrets in URL settings', () => {
  it('are masked in the config line, the failure lines and the stderr reason', async () => {
    const child = await runToExit(
      {
        env: {
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: '0',
          GCS_BUCKET: 'jack-config',
          // A closed port: the store cannot be read, startup fails naming it.
          GCS_ENDPOINT: 'http://gcs-user:s3cret-gcs@127.0.0.1:9',
          PUBSUB_REST_ENDPOINT: 'https://ps-user:s3cret-ps@pubsub.invalid',
          REDIS_URL: 'redis://default:s3cret-redis@127.0.0.1:9/0',
        },
      },
      60_000,
    );
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const everything = `${JSON.stringify(child.logs)}\n${child.otherStdout.join('\n')}\n${child.stderr()}`;
    expect(everything).not.toContain('s3cret');
    const starting = child.logs.find((l) => l.msg === 'starting jack');
    expect(JSON.stringify(starting)).toContain('http://***@127.0.0.1:9');
  }, 70_000);

  it('are masked when the setting itself is refused', async () => {
    const child = await runToExit({
      env: { GCS_BUCKET: 'b', GCS_ENDPOINT: 'ftp://user:s3cret@host' },
    });
    expect((await child.exited).code).toBe(1);
    expect(child.stderr()).toContain('GCS_ENDPOINT="ftp://***@host" is not an http(s) URL');
    expect(child.stderr()).not.toContain('s3cret');
  });
});
