/**
 * Stored text ↔ records: the protobuf-JSON form of ProducersFile and
 * JobTypesFile. camelCase is written; camelCase and snake_case are read
 * (the generated fromJSON accepts both).
 */

import { JackError } from '../errors.js';
import { JobTypesFile, ProducersFile } from '../gen/jack/storage.js';
import type { JobType, Producer, StoreObjectName } from './store.js';

function parse(name: StoreObjectName, text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JackError('internal', `${name} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function decodeWith<T>(
  name: StoreObjectName,
  text: string | undefined,
  fromJSON: (o: unknown) => T,
): T {
  const json = parse(name, text);
  try {
    return fromJSON(json);
  } catch (err) {
    throw new JackError(
      'internal',
      `${name} is not a valid protobuf-JSON file: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export function decodeProducers(text: string | undefined): Producer[] {
  return decodeWith('producers.json', text, (o) => ProducersFile.fromJSON(o)).producers;
}

export function decodeJobTypes(text: string | undefined): JobType[] {
  return decodeWith('job_types.json', text, (o) => JobTypesFile.fromJSON(o)).jobTypes;
}

export function encodeProducers(producers: readonly Producer[]): string {
  return `${JSON.stringify(ProducersFile.toJSON({ producers: [...producers] }), null, 2)}\n`;
}

export function encodeJobTypes(jobTypes: readonly JobType[]): string {
  return `${JSON.stringify(JobTypesFile.toJSON({ jobTypes: [...jobTypes] }), null, 2)}\n`;
}
