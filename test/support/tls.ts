/**
 * Certificates for the TLS tests, made by the system openssl: a server's
 * self-signed pair, a CA and client certificates it signs (mTLS), and a
 * pair valid only in a given window. Every key is EC P-256.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (args: string[], cwd?: string) =>
  promisify(execFile)('openssl', args, cwd === undefined ? {} : { cwd });

/** `openssl req` arguments for a new unencrypted EC P-256 key. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The `openssl req` subject (CN `name`), its `-addext` extensions and where key and output go. */
const subjectAndFiles = (name: string, extensions: readonly string[], key: string, out: string) => [
  '-subj',
  `/CN=${name}`,
  ...extensions.flatMap((ext) => ['-addext', ext]),
  '-keyout',
  key,
  '-out',
  out,
];

/** A self-signed certificate valid for a day, with these `-addext` extensions. */
async function selfSigned(
  cert: string,
  key: string,
  name: string,
  extensions: readonly string[],
): Promise<{ cert: string; key: string }> {
  await openssl([
    'req',
    '-x509',
    ...NEW_EC_KEY,
    '-days',
    '1',
    ...subjectAndFiles(name, extensions, key, cert),
  ]);
  return { cert, key };
}

/** A key and a certificate signing request for `name`, written to `key` and `csr`. */
async function signingRequest(
  name: string,
  key: string,
  csr: string,
  extensions: readonly string[] = [],
  cwd?: string,
): Promise<void> {
  await openssl(
    ['req', '-new', ...NEW_EC_KEY, ...subjectAndFiles(name, extensions, key, csr)],
    cwd,
  );
}

/**
 * A self-signed EC certificate and its key, made with the system openssl
 * into `dir` (cert.pem, key.pem).
 * @param name the certificate's common name and DNS subject alternative name
 * @param ips IP subject alternative names to add
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  ips: readonly string[] = [],
): Promise<{ cert: string; key: string }> {
  const altNames = [`DNS:${name}`, ...ips.map((ip) => `IP:${ip}`)].join(',');
  return selfSigned(join(dir, 'cert.pem'), join(dir, 'key.pem'), name, [
    `subjectAltName=${altNames}`,
  ]);
}

/** A CA certificate and key named `name` in `dir` (`name`.pem, `name`-key.pem). */
export async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  return selfSigned(join(dir, `${name}.pem`), join(dir, `${name}-key.pem`), name, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign',
  ]);
}

/** A client certificate signed by `ca`, with this CN and optional URI SAN. */
export async function clientCert(
  dir: string,
  ca: { cert: string; key: string },
  cn: string,
  uri?: string,
): Promise<{ cert: Buffer; key: Buffer }> {
  const base = join(dir, cn);
  const ext = `${base}.ext`;
  await writeFile(
    ext,
    `extendedKeyUsage=clientAuth\n${uri === undefined ? '' : `subjectAltName=URI:${uri}\n`}`,
  );
  await signingRequest(cn, `${base}-key.pem`, `${base}.csr`);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    `${base}.pem`,
  ]);
  return { cert: await readFile(`${base}.pem`), key: await readFile(`${base}-key.pem`) };
}

/**
 * A self-signed EC certificate valid only between `notBefore` and `notAfter`
 * (openssl 3.0's `req` cannot backdate: `openssl ca -selfsign` can), into
 * `dir` (cert.pem, key.pem).
 */
export async function certificateValidBetween(
  dir: string,
  name: string,
  notBefore: Date,
  notAfter: Date,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '01\n');
  await writeFile(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = policy_any',
      'copy_extensions = copy',
      'unique_subject = no',
      '[ policy_any ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await signingRequest(name, key, 'req.csr', [`subjectAltName=DNS:${name}`], dir);
  /** `YYYYMMDDHHMMSSZ`, the form `openssl ca` takes. */
  const asn1 = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
  await openssl(
    [
      'ca',
      '-batch',
      '-selfsign',
      '-config',
      'ca.cnf',
      '-keyfile',
      key,
      '-in',
      'req.csr',
      '-out',
      cert,
      '-notext',
      '-startdate',
      asn1(notBefore),
      '-enddate',
      asn1(notAfter),
    ],
    dir,
  );
  return { cert, key };
}
