import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, parseLine } from './input.js';

const job = (line: string, index = 0) => {
  const parsed = parseLine(line, index, '/data/jobs.jsonl');
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.job;
};
const error = (line: string) => {
  const parsed = parseLine(line, 0, 'id');
  return 'error' in parsed ? parsed.error : undefined;
};

describe('bulk input lines', () => {
  it('reads snake_case and camelCase; payload is the JSON text of any value', () => {
    const snake = job(
      '{"producer_id":"p","job_type":"t","payload":{"a":[1,2]},"run_at":"2030-01-01T00:00:00Z","correlation_id":"c","trace_id":"tr","idempotency_key":"k"}',
    );
    expect(snake).toEqual({
      producerId: 'p',
      jobType: 't',
      payload: Buffer.from('{"a":[1,2]}'),
      runAt: new Date('2030-01-01T00:00:00Z'),
      idempotencyKey: 'k',
      correlationId: 'c',
      traceId: 'tr',
    });
    expect(job('{"producerId":"p","jobType":"t","payload":"text"}').payload).toEqual(
      Buffer.from('"text"'),
    );
    expect(job('{"producer_id":"p","payload":null}').payload).toEqual(Buffer.from('null'));
    expect(job('{"producer_id":"p","payload":7}').payload).toEqual(Buffer.from('7'));
    expect(job('{"producer_id":"p"}').payload).toEqual(Buffer.alloc(0));
    expect(job('{"payload_base64":"/wAB"}').payload).toEqual(Buffer.from([0xff, 0, 1]));
    expect(job('{"payloadBase64":""}').payload).toEqual(Buffer.alloc(0));
  });

  it('refuses what is not one job, saying why', () => {
    expect(error('{"producer_id":')).toBe('not valid JSON');
    expect(error('[1]')).toBe('not a JSON object');
    expect(error('"x"')).toBe('not a JSON object');
    expect(error('{"queue":"high"}')).toBe('unknown field "queue"');
    expect(error('{"producer_id":"a","producerId":"b"}')).toBe('field "producerId" given twice');
    expect(error('{"producer_id":5}')).toBe('producerId must be a string');
    expect(error('{"payload":1,"payload_base64":"AA=="}')).toBe(
      'give payload or payload_base64, not both',
    );
    expect(error('{"payload_base64":"not base64!"}')).toBe(
      'payload_base64 must be a base64 string',
    );
    expect(error('{"payload_base64":"AAA"}')).toBe('payload_base64 must be a base64 string');
    expect(error('{"run_at":"tomorrow"}')).toBe('run_at must be an RFC 3339 time');
    expect(error('{"run_at":1700000000}')).toBe('run_at must be an RFC 3339 time');
    expect(error(`{"payload":"${'x'.repeat(MAX_LINE_CHARS)}"}`)).toMatch(/^line longer than/);
  });

  it('derives a stable key from input identity, line number and line; keeps its own', () => {
    const line = '{"producer_id":"p","job_type":"t"}';
    const key = job(line, 3).idempotencyKey;
    // Pinned: a key that changed between versions would make a resumed bulk
    // load publish its jobs a second time.
    expect(key).toBe('jack-bulk-cfa2d4821d545de8caee813dfbabaa312be9acdd');
    expect(job(line, 3).idempotencyKey).toBe(key);
    expect(job(line, 4).idempotencyKey).not.toBe(key);
    expect(parseLine(line, 3, '/other/file.jsonl')).not.toEqual(
      parseLine(line, 3, '/data/jobs.jsonl'),
    );
    expect(job('{"idempotency_key":"mine"}').idempotencyKey).toBe('mine');
  });
});
