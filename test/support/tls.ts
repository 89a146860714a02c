import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

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
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const altNames = [`DNS:${name}`, ...ips.map((ip) => `IP:${ip}`)].join(',');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=${altNames}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
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
  const run = (args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
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
  await run([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=DNS:${name}`,
    '-keyout',
    key,
    '-out',
    'req.csr',
  ]);
  /** `YYYYMMDDHHMMSSZ`, the form `openssl ca` takes. */
  const asn1 = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
  await run([
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
  ]);
  return { cert, key };
}
