/**
 * LEGACY_PAYLOAD_QUEUE_ROUTING (SPEC §2, §12): the priority a JSON payload
 * names in its `queue` key, read exactly as the Go service read it, by
 * `json.Unmarshal` into `struct { Queue string \`json:"queue"\` }`:
 * - the whole payload must be valid JSON, or nothing is read;
 * - a key matches when it equals `queue` ignoring ASCII letter case
 *   (`"Queue"`, `"QUEUE"`, also when spelled with `\u` escapes);
 * - when several keys match, the LAST one wins, whether or not it is the
 *   exact spelling: Go prefers an exact match only when choosing between
 *   struct fields, and this struct has one (golang/go#43664 shows
 *   `{"dist":"ok","Dist":"KO"}` decoding to "KO");
 * - a `null` value leaves the earlier value as it was; any other non-string
 *   value makes Unmarshal fail, so the payload routes as if it had no key.
 * Go folds a key with Unicode case mapping too, but no non-ASCII letter folds
 * to q, u or e, so ASCII folding gives the same answer for this key.
 */
import type { Priority } from '../queue/backend.js';

const LEGACY_QUEUES: ReadonlySet<string> = new Set(['immediate', 'high', 'medium', 'low']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `"q` and `"Q`: every literal spelling of the key starts with one of them. */
const KEY_STARTS = [Buffer.from('"q'), Buffer.from('"Q')];
/** A `\u` escape may spell the key (`"q\u0075eue"`), so such payloads are always parsed. */
const UNICODE_ESCAPE = Buffer.from('\\u');
/** `ueue"` in lower case, compared after OR-ing 0x20 into the letters. */
const KEY_REST = [0x75, 0x65, 0x75, 0x65];

/**
 * Cheap pre-check: true when the payload may hold the key. Two native
 * substring searches find every `"q`/`"Q`; each hit costs four byte
 * comparisons. Most payloads never get to JSON.parse.
 */
function mayHoldQueueKey(payload: Buffer): boolean {
  if (payload.indexOf(UNICODE_ESCAPE) !== -1) return true;
  for (const start of KEY_STARTS) {
    let at = payload.indexOf(start);
    while (at !== -1) {
      if (at + 6 < payload.length && payload[at + 6] === QUOTE && foldedRestMatches(payload, at))
        return true;
      at = payload.indexOf(start, at + 1);
    }
  }
  return false;
}

function foldedRestMatches(payload: Buffer, at: number): boolean {
  for (let i = 0; i < KEY_REST.length; i++) {
    if (((payload[at + 2 + i] as number) | 0x20) !== KEY_REST[i]) return false;
  }
  return true;
}

/** The priority the payload names, or undefined (anything else: no key, not JSON, not a priority). */
export function legacyPayloadPriority(payload: Buffer): Priority | undefined {
  if (payload.length === 0 || !mayHoldQueueKey(payload)) return undefined;
  const text = payload.toString('utf8');
  try {
    // Go checks the syntax of the whole document before it decodes anything.
    JSON.parse(text);
  } catch {
    return undefined;
  }
  const queue = lastQueueValue(text);
  return queue !== undefined && LEGACY_QUEUES.has(queue) ? (queue as Priority) : undefined;
}

/**
 * Walks the members of a top-level object in document order (JSON.parse
 * would fold duplicate keys and lose that order). `text` is valid JSON.
 * Returns the string Go would have decoded, or undefined.
 */
function lastQueueValue(text: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b /* { */) return undefined; // Go: type error or null
  let value: string | undefined;
  i = skipSpace(text, i + 1);
  while (text.charCodeAt(i) === QUOTE) {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, skipSpace(text, keyEnd) + 1); // past ':'
    const valueEnd = valueEndAt(text, i);
    if (key.length === 5 && key.toLowerCase() === 'queue') {
      const first = text.charCodeAt(i);
      if (first === QUOTE) value = JSON.parse(text.slice(i, valueEnd)) as string;
      else if (first !== 0x6e /* n(ull) */) return undefined; // Go: UnmarshalTypeError
    }
    i = skipSpace(text, valueEnd);
    if (text.charCodeAt(i) === 0x2c /* , */) i = skipSpace(text, i + 1);
  }
  return value;
}

function skipSpace(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return i;
}

/** Index just past the string starting at `i` (its opening quote). */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; ; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
}

/** Index just past the value starting at `i`. */
function valueEndAt(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return stringEnd(text, i);
  if (first === 0x7b || first === 0x5b /* { [ */) {
    let depth = 0;
    for (let j = i; ; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) j = stringEnd(text, j) - 1;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
  }
  // number, true, false, null: up to the next delimiter
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (
      c === 0x2c ||
      c === 0x7d ||
      c === 0x5d ||
      c === 0x20 ||
      c === 0x0a ||
      c === 0x0d ||
      c === 0x09 ||
      Number.isNaN(c)
    )
      return j;
    j++;
  }
}
