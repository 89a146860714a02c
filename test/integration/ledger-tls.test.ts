/**
 * LEDGER_DATABASE_URL's TLS parameters are honoured: against a PostgreSQL
 * that accepts TLS connections only (a cluster of this file's own), a URL
 * with sslmode=verify-full and the server's CA works; one without TLS, or
 * with a CA that did not sign the server's certificate, is refused at
 * startup with a one-line reason that does not show the password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { isJackError } from '../../src/errors.js';
import { openPostgresLedgerStore } from '../../src/ledger/postgres.js';
import { acceptedJob } from '../contract/ledger-store.contract.js';
import {
  type PostgresCluster,
  postgresAvailable,
  startPostgres,
  TEST_POSTGRES_PASSWORD,
} from '../support/postgres.js';
import { makeCa, selfSignedCertificate } from '../support/tls.js';

const logger = pino({ level: 'silent' });
const withPostgres = postgresAvailable();
const dir = mkdtempSync(join(tmpdir(), 'jack-pg-tls-'));
let cluster: PostgresCluster | undefined;

afterAll(async () => {
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!withPostgres)('LEDGER_DATABASE_URL over TLS', () => {
  it('connects with verify-full and the server CA, and refuses what does not verify', async () => {
    const server = await selfSignedCertificate(dir, 'localhost', ['127.0.0.1']);
    const otherCa = await makeCa(dir, 'other-ca');
    cluster = await startPostgres({ tls: server });
    const base = `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:${cluster.port}/postgres`;

    const store = await openPostgresLedgerStore({
      url: `${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.cert)}`,
      logger,
    });
    try {
      const job = acceptedJob();
      await store.recordAccepted([job]);
      expect(await store.get(job.jobId)).toMatchObject({ jobId: job.jobId });
    } finally {
      await store.close();
    }

    for (const url of [
      `${base}?sslmode=disable`,
      `${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa.cert)}`,
    ]) {
      const err = await openPostgresLedgerStore({ url, logger }).catch((e: unknown) => e);
      expect(isJackError(err, 'unavailable')).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(
        /^LEDGER_DATABASE_URL: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/postgres/,
      );
      expect(message).not.toContain('\n');
      expect(message).not.toContain(TEST_POSTGRES_PASSWORD);
    }
  });
});
