/**
 * Stored text ↔ records: the protobuf-JSON form of ProducersFile,
 * JobTypesFile and ApiKeysFile. camelCase is written; camelCase and snake_case are read
 * (the generated fromJSON accepts both).
 *
 * Decoding is strict about shape: the generated fromJSON silently ignores
 * unknown keys and wrong types, and a file misread as empty would be
 * overwritten — with its records lost — by the next create.
 */

import { JackError } from '../errors.js';
import { ApiKeysFile, JobTypesFile, ProducersFile } from '../gen/jack/storage.js';
import type { JobType, Producer, StoredApiKey, StoreObjectName } from './store.js';

interface FileShape {
  /** The list key, in its camelCase and snake_case spellings. */
  listKeys: readonly string[];
  /** Keys every record must carry as a non-empty string (either spelling). */
  requiredKeys: readonly (readonly string[])[];
  /** Keys holding a Timestamp, which must be RFC 3339 strings. */
  timestampKeys: readonly string[];
  /** The object inside each record that holds the keys above; the record itself when absent. */
  nestedKey?: string;
  /** Keys every record must carry as a non-empty base64 string (either spelling), beside the nested object. */
  bytesKeys?: readonly (readonly string[])[];
}

const PRODUCERS_SHAPE: FileShape = {
  listKeys: ['producers'],
  requiredKeys: [['producerId', 'producer_id']],
  timestampKeys: ['createdAt', 'created_at', 'updatedAt', 'updated_at'],
};

const JOB_TYPES_SHAPE: FileShape = {
  listKeys: ['jobTypes', 'job_types'],
  requiredKeys: [['producerId', 'producer_id'], ['name']],
  timestampKeys: ['createdAt', 'created_at', 'updatedAt', 'updated_at'],
};

const API_KEYS_SHAPE: FileShape = {
  listKeys: ['apiKeys', 'api_keys'],
  nestedKey: 'key',
  requiredKeys: [['keyId', 'key_id']],
  timestampKeys: ['createdAt', 'created_at'],
  bytesKeys: [['tokenSha256', 'token_sha256']],
};

const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function corrupt(name: StoreObjectName, why: string, cause?: unknown): JackError {
  return new JackError('internal', `${name} is not a valid protobuf-JSON file: ${why}`, { cause });
}

function parse(name: StoreObjectName, text: string | undefined, shape: FileShape): unknown {
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new JackError('internal', `${name} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isObject(json)) throw corrupt(name, 'the top level is not an object');
  for (const key of Object.keys(json)) {
    if (!shape.listKeys.includes(key)) throw corrupt(name, `unknown key "${key}"`);
  }
  for (const listKey of shape.listKeys) {
    const list = json[listKey];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw corrupt(name, `"${listKey}" is not an array`);
    list.forEach((record, index) => {
      if (!isObject(record)) throw corrupt(name, `${listKey}[${index}] is not an object`);
      for (const spellings of shape.bytesKeys ?? []) {
        const value = spellings.map((k) => record[k]).find((v) => v !== undefined);
        if (typeof value !== 'string' || value === '' || !BASE64.test(value)) {
          throw corrupt(name, `${listKey}[${index}] has no base64 ${spellings[0]}`);
        }
      }
      const inner = shape.nestedKey === undefined ? record : record[shape.nestedKey];
      if (!isObject(inner)) throw corrupt(name, `${listKey}[${index}] has no ${shape.nestedKey}`);
      for (const spellings of shape.requiredKeys) {
        const value = spellings.map((k) => inner[k]).find((v) => v !== undefined);
        if (typeof value !== 'string' || value === '') {
          throw corrupt(name, `${listKey}[${index}] has no ${spellings[0]}`);
        }
      }
      for (const key of shape.timestampKeys) {
        const value = inner[key];
        if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
          throw corrupt(name, `${listKey}[${index}].${key} is not an RFC 3339 timestamp`);
        }
      }
    });
  }
  return json;
}

function decodeWith<T>(
  name: StoreObjectName,
  text: string | undefined,
  shape: FileShape,
  fromJSON: (o: unknown) => T,
): T {
  const json = parse(name, text, shape);
  try {
    return fromJSON(json);
  } catch (err) {
    throw corrupt(name, (err as Error).message, err);
  }
}

export function decodeProducers(text: string | undefined): Producer[] {
  return decodeWith('producers.json', text, PRODUCERS_SHAPE, (o) => ProducersFile.fromJSON(o))
    .producers;
}

export function decodeJobTypes(text: string | undefined): JobType[] {
  return decodeWith('job_types.json', text, JOB_TYPES_SHAPE, (o) => JobTypesFile.fromJSON(o))
    .jobTypes;
}

export function encodeProducers(producers: readonly Producer[]): string {
  return `${JSON.stringify(ProducersFile.toJSON({ producers: [...producers] }), null, 2)}\n`;
}

export function encodeJobTypes(jobTypes: readonly JobType[]): string {
  return `${JSON.stringify(JobTypesFile.toJSON({ jobTypes: [...jobTypes] }), null, 2)}\n`;
}

export function decodeApiKeys(text: string | undefined): StoredApiKey[] {
  return decodeWith('api_keys.json', text, API_KEYS_SHAPE, (o) => ApiKeysFile.fromJSON(o)).apiKeys;
}

export function encodeApiKeys(apiKeys: readonly StoredApiKey[]): string {
  return `${JSON.stringify(ApiKeysFile.toJSON({ apiKeys: [...apiKeys] }), null, 2)}\n`;
}
