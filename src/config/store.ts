/** The config store section: GCS, a local directory, or memory. */
import type { Parser } from './parser.js';

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'local'; dir: string }
  | {
      kind: 'gcs';
      bucket: string;
      /** Object name prefix, '' or ending in '/'. */
      prefix: string;
      /** API endpoint override (GCS_ENDPOINT), e.g. an emulator; undefined = the client's default. */
      apiEndpoint: string | undefined;
    };

export function parseStore(p: Parser, problems: string[]): StoreConfig {
  const bucket = p.string('GCS_BUCKET');
  const dir = p.string('CONFIG_DIR');
  const prefixRaw = p.string('GCS_PREFIX');
  const apiEndpoint = p.url('GCS_ENDPOINT');
  if (bucket !== undefined && dir !== undefined) {
    problems.push('GCS_BUCKET and CONFIG_DIR are both set: choose one config store');
  }
  if (bucket !== undefined) {
    let prefix = prefixRaw ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    return { kind: 'gcs', bucket, prefix, apiEndpoint };
  }
  if (prefixRaw !== undefined) problems.push('GCS_PREFIX is set but GCS_BUCKET is not');
  if (dir !== undefined) return { kind: 'local', dir };
  return { kind: 'memory' };
}
