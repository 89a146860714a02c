import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import type { Job } from './backend.js';
import { encodeMessage, messageAttributes } from './message.js';

const CREATED = new Date('2026-11-22T10:20:30.456Z');
const RUN_AT = new Date('2026-11-22T11:00:00.000Z');
const NOW = new Date('2026-11-22T10:20:30.789Z');

function job(fields: Partial<Job> = {}): Job {
  return {
    id: 'pjob_TEST',
    producerId: 'prod_1a2b3c4d',
    jobType: 'send_email',
    priority: 'high',
    payload: Buffer.from('{"to":"a@example.com"}'),
    runAt: RUN_AT,
    createdAt: CREATED,
    traceId: '',
    correlationId: '',
    maxRetries: 4,
    shadow: false,
    ...fields,
  };
}

describe('messageAttributes', () => {
  it('carries exactly the attributes of SPEC §3, leaving trace/correlation ids out when empty', () => {
    expect(messageAttributes(job())).toEqual({
      job_id: 'pjob_TEST',
      producer_id: 'prod_1a2b3c4d',
      job_type: 'send_email',
      priority: 'high',
      run_at: '2026-11-22T11:00:00.000Z',
      created_at: '2026-11-22T10:20:30.456Z',
      max_retries: '4',
      shadow: 'false',
    });
  });

  it('adds trace_id and correlation_id when set, and shadow "true"', () => {
    const attributes = messageAttributes(
      job({ traceId: '00-abc-01', correlationId: 'order-7', shadow: true, maxRetries: 10 }),
    );
    expect(attributes).toEqual({
      job_id: 'pjob_TEST',
      producer_id: 'prod_1a2b3c4d',
      job_type: 'send_email',
      priority: 'high',
      run_at: '2026-11-22T11:00:00.000Z',
      created_at: '2026-11-22T10:20:30.456Z',
      max_retries: '10',
      shadow: 'true',
      trace_id: '00-abc-01',
      correlation_id: 'order-7',
    });
  });

  it('writes times in RFC 3339 UTC whatever the time zone of the Date', () => {
    const attributes = messageAttributes(
      job({ createdAt: new Date('2026-06-01T02:03:04.005+02:00') }),
    );
    expect(attributes.created_at).toBe('2026-06-01T00:03:04.005Z');
  });
});

describe('encodeMessage native', () => {
  it('keeps the payload bytes untouched', () => {
    const payload = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x22]);
    const message = encodeMessage(job({ payload }), 'native', NOW);
    expect(message.data.equals(payload)).toBe(true);
    expect(message.jobId).toBe('pjob_TEST');
    expect(message.priority).toBe('high');
    expect(message.attributes).toEqual({
      job_id: 'pjob_TEST',
      producer_id: 'prod_1a2b3c4d',
      job_type: 'send_email',
      priority: 'high',
      run_at: '2026-11-22T11:00:00.000Z',
      created_at: '2026-11-22T10:20:30.456Z',
      max_retries: '4',
      shadow: 'false',
    });
  });
});

describe('encodeMessage legacy', () => {
  const legacy = (fields: Partial<Job>) =>
    encodeMessage(job(fields), 'legacy', NOW).data.toString('utf8');

  it('writes every field of the legacy envelope', () => {
    const data = JSON.parse(legacy({}));
    expect(data).toEqual({
      id: 'pjob_TEST',
      run_at: '2026-11-22T11:00:00Z',
      queue: 'high',
      args: { to: 'a@example.com' },
      status: 'not_published',
      created_at: '2026-11-22T10:20:30.456Z',
      updated_at: '2026-11-22T10:20:30.456Z',
      job_type: 'send_email',
      published_at: '2026-11-22T10:20:30.789Z',
      error_count: 0,
    });
  });

  it('writes the envelope byte for byte as the Go service: args compacted and HTML-escaped, times as Go writes them', () => {
    const args = ' {"z": 1.50, "a":1e3,\n "big":12345678901234567890,"s":"\\u00e9 <b> & </b>  "}\n';
    expect(legacy({ payload: Buffer.from(args), jobType: 'a<b>&c' })).toBe(
      '{"id":"pjob_TEST","run_at":"2026-11-22T11:00:00Z","queue":"high",' +
        '"args":{"z":1.50,"a":1e3,"big":12345678901234567890,"s":"\\u00e9 \\u003cb\\u003e \\u0026 \\u003c/b\\u003e  "},' +
        '"status":"not_published","created_at":"2026-11-22T10:20:30.456Z","updated_at":"2026-11-22T10:20:30.456Z",' +
        '"job_type":"a\\u003cb\\u003e\\u0026c","published_at":"2026-11-22T10:20:30.789Z","error_count":0}',
    );
  });

  it.each([
    { payload: '[1,2,3]', args: [1, 2, 3] },
    { payload: '"text"', args: 'text' },
    { payload: '42', args: 42 },
    { payload: 'null', args: null },
    { payload: ' {"a":true}\n', args: { a: true } },
  ])('accepts any JSON value as args: $payload', ({ payload, args }) => {
    expect(JSON.parse(legacy({ payload: Buffer.from(payload) })).args).toEqual(args);
  });

  it('writes args null for an empty payload', () => {
    expect(JSON.parse(legacy({ payload: Buffer.alloc(0) })).args).toBeNull();
  });

  it('escapes job_type and keeps the message valid JSON', () => {
    const data = JSON.parse(legacy({ jobType: 'quote"back\\slash' }));
    expect(data.job_type).toBe('quote"back\\slash');
  });

  it.each([
    { name: 'plain text', payload: Buffer.from('hello') },
    { name: 'truncated JSON', payload: Buffer.from('{"a":') },
    { name: 'two JSON values', payload: Buffer.from('{} {}') },
    { name: 'a JSON fragment that would break the envelope', payload: Buffer.from('1,"x":2') },
    { name: 'bytes that are not UTF-8', payload: Buffer.from([0x22, 0xff, 0x22]) },
  ])('refuses $name with invalid_argument', ({ payload }) => {
    expect(() => encodeMessage(job({ payload }), 'legacy', NOW)).toThrow(
      new JackError(
        'invalid_argument',
        'payload is not valid JSON, which MESSAGE_FORMAT=legacy requires (it is embedded as "args")',
      ),
    );
  });
});
