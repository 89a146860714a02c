import { execFile } from 'node:child_process';
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
