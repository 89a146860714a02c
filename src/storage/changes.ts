/** The record-level changes the cached store submits to its group-commit writers. */
import { JackError } from '../errors.js';
import {
  JobType as JobTypeMessage,
  Producer as ProducerMessage,
  StoredApiKey as StoredApiKeyMessage,
} from '../gen/jack/storage.js';
import type { Change } from './group-commit.js';

/** Equal as stored: our own write whose answer was lost is recognised by its whole record. */
export const same =
  <T>(fns: { toJSON(message: T): unknown }) =>
  (a: T, b: T) =>
    JSON.stringify(fns.toJSON(a)) === JSON.stringify(fns.toJSON(b));
export const sameProducer = same(ProducerMessage);
export const sameJobType = same(JobTypeMessage);
export const sameApiKey = same(StoredApiKeyMessage);

export const producerNotFound = (id: string) =>
  new JackError('not_found', `producer not found: ${id}`);
export const jobTypeNotFound = (producerId: string, name: string) =>
  new JackError('not_found', `job type not found: ${name} (producer: ${producerId})`);
export const apiKeyNotFound = (id: string) =>
  new JackError('not_found', `API key not found: ${id}`);

/** `change` replaces the one record matching `match`; `notFound` when there is none. */
export function replaceOne<T>(
  match: (record: T) => boolean,
  notFound: () => JackError,
  change: (current: T) => T,
  done: (record: T) => void,
): Change<T> {
  return (records) => {
    const index = records.findIndex(match);
    const current = records[index];
    if (current === undefined) throw notFound();
    const next = change(current);
    done(next);
    return records.map((r, i) => (i === index ? next : r));
  };
}

/** Removes the matching records; `notFound` (if given) when there are none. */
export function removeAll<T>(match: (record: T) => boolean, notFound?: () => JackError): Change<T> {
  return (records) => {
    const kept = records.filter((r) => !match(r));
    if (kept.length < records.length) return kept;
    if (notFound !== undefined) throw notFound();
    return undefined;
  };
}

/** Appends a record unless `key` is taken: by the same record (our retry: done) or another (`taken`). */
export function appendNew<T>(
  record: T,
  sameKey: (r: T) => boolean,
  sameRecord: (a: T, b: T) => boolean,
  taken: () => JackError,
): Change<T> {
  return (records) => {
    const existing = records.find(sameKey);
    if (existing === undefined) return [...records, record];
    if (sameRecord(existing, record)) return undefined;
    throw taken();
  };
}
