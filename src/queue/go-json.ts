/**
 * JSON written byte for byte as the Go service's `encoding/json` wrote it,
 * for MESSAGE_FORMAT=legacy (SPEC §12): its consumers got these bytes, and
 * some compare or hash them. Go's `json.Marshal` (HTML escaping on):
 * - copies a `json.RawMessage` through its `compact` step: whitespace
 *   outside strings removed, everything else verbatim (escapes, number
 *   spelling, key order), except `<`, `>`, `&` written `\u003c`, `\u003e`,
 *   `\u0026` and U+2028, U+2029 written `\u2028`, `\u2029`;
 * - writes strings with the same five escapes on top of the JSON ones;
 * - writes a `time.Time` in RFC 3339 with the fraction's trailing zeros cut.
 */

const HEX = '0123456789abcdef';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** `\u00XX` for `<`, `>`, `&`, as Go writes them (lower-case hex). */
function htmlEscape(c: number): Buffer {
  return Buffer.from(`\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`);
}
const ESCAPED: Record<number, Buffer> = {
  60: htmlEscape(0x3c),
  62: htmlEscape(0x3e),
  38: htmlEscape(0x26),
};
const LINE_SEPARATOR = Buffer.from('\\u2028');
const PARAGRAPH_SEPARATOR = Buffer.from('\\u2029');

/**
 * Go's compact-with-escaping of a valid JSON text (the caller validated it).
 * Returns `json` itself when nothing changes, the common case.
 */
export function goCompactJson(json: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let inString = false;
  const cut = (at: number, skip: number, replacement?: Buffer) => {
    if (start < at) parts.push(json.subarray(start, at));
    if (replacement !== undefined) parts.push(replacement);
    start = at + skip;
  };
  for (let i = 0; i < json.length; i++) {
    const c = json[i] as number;
    if (inString) {
      if (c === BACKSLASH)
        i++; // the escaped byte is ASCII and never changes
      else if (c === QUOTE) inString = false;
      else if (c === 0x3c || c === 0x3e || c === 0x26) cut(i, 1, ESCAPED[c]);
      else if (c === 0xe2 && json[i + 1] === 0x80 && ((json[i + 2] as number) & ~1) === 0xa8) {
        cut(i, 3, json[i + 2] === 0xa8 ? LINE_SEPARATOR : PARAGRAPH_SEPARATOR);
        i += 2;
      }
    } else if (c === QUOTE) inString = true;
    else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) cut(i, 1);
  }
  if (parts.length === 0) return start === 0 ? json : json.subarray(start);
  if (start < json.length) parts.push(json.subarray(start));
  return Buffer.concat(parts);
}

const GO_EXTRA_ESCAPES = /[<>&\u2028\u2029]/g;
const goExtraEscape = (ch: string) =>
  `\\u${(ch.codePointAt(0) as number).toString(16).padStart(4, '0')}`;

/** A JSON string literal as Go's `json.Marshal` writes it. */
export function goJsonString(value: string): string {
  // JSON.stringify already writes \b \f \n \r \t and \u00XX (lower-case hex)
  // for the other control characters, as Go ≥ 1.22 does.
  const json = JSON.stringify(value);
  GO_EXTRA_ESCAPES.lastIndex = 0;
  return GO_EXTRA_ESCAPES.test(json) ? json.replace(GO_EXTRA_ESCAPES, goExtraEscape) : json;
}

/** A time as Go's `time.Time.MarshalJSON` writes a UTC time: RFC 3339, zeros of the fraction cut. */
export function goTime(iso: string): string {
  // `iso` is Date#toISOString(): always `…:SS.mmmZ`.
  const dot = iso.length - 5;
  let end = iso.length - 1;
  while (end > dot + 1 && iso.charCodeAt(end - 1) === 0x30 /* 0 */) end--;
  if (end === dot + 1) return `"${iso.slice(0, dot)}Z"`;
  return `"${iso.slice(0, end)}Z"`;
}
