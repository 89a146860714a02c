/**
 * Job subjects on NATS (SPEC §17): `<prefix>.<priority>.<job_type>`.
 *
 * A subject token cannot hold `.`, `*`, `>`, whitespace or control
 * characters, so the job type is escaped reversibly: ASCII letters, digits
 * and `-` stay as they are; every other byte of its UTF-8 form (`_` itself
 * included) becomes `_` and two upper-case hex digits. `email.send` →
 * `email_2Esend`, `a_b` → `a_5Fb`, `café` → `caf_C3_A9`. An empty job type
 * (never valid in Jack, but total here) is the lone token `_`.
 */
import type { Priority } from '../backend.js';

const PLAIN = /^[A-Za-z0-9-]+$/;

export function escapeJobType(jobType: string): string {
  if (jobType === '') return '_';
  if (PLAIN.test(jobType)) return jobType;
  let out = '';
  for (const byte of Buffer.from(jobType, 'utf8')) {
    const plain =
      (byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      byte === 0x2d;
    out += plain
      ? String.fromCharCode(byte)
      : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of `escapeJobType`; undefined for a token it cannot have produced. */
export function unescapeJobType(token: string): string | undefined {
  if (token === '_') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i += 1) {
    const char = token[i] as string;
    if (char !== '_') {
      if (!PLAIN.test(char)) return undefined;
      bytes.push(char.charCodeAt(0));
      continue;
    }
    const hex = token.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  const text = Buffer.from(bytes).toString('utf8');
  return escapeJobType(text) === token ? text : undefined;
}

export function jobSubject(prefix: string, priority: Priority, jobType: string): string {
  return `${prefix}.${priority}.${escapeJobType(jobType)}`;
}

/** The subjects the stream must cover: one wildcard per priority. */
export function laneSubject(prefix: string, priority: Priority): string {
  return `${prefix}.${priority}.>`;
}

/** True when the stream subject `filter` matches every subject `pattern` matches. */
export function subjectCovers(filter: string, pattern: string): boolean {
  const f = filter.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < f.length; i += 1) {
    const token = f[i];
    if (token === '>') return true;
    const other = p[i];
    if (other === undefined || other === '>') return false;
    if (token === '*') continue;
    if (other === '*' || other !== token) return false;
  }
  return f.length === p.length;
}
