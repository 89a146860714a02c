import { describe, expect, it } from 'vitest';
import { escapeJobType, jobSubject, subjectCovers, unescapeJobType } from './subject.js';

describe('NATS job subjects', () => {
  it('keeps plain job types and escapes every other byte reversibly', () => {
    expect(escapeJobType('send-email')).toBe('send-email');
    expect(escapeJobType('email.send')).toBe('email_2Esend');
    expect(escapeJobType('a_b')).toBe('a_5Fb');
    expect(escapeJobType('x*>y z')).toBe('x_2A_3Ey_20z');
    expect(escapeJobType('café')).toBe('caf_C3_A9');
    expect(escapeJobType('')).toBe('_');
    for (const type of [
      'send-email',
      'email.send',
      'a_b',
      '_2E',
      'x*>y z',
      'café',
      '日本',
      '',
      '\t',
    ]) {
      const token = escapeJobType(type);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(unescapeJobType(token)).toBe(type);
    }
    // '_2E' and '.' must not collide: '_' is escaped too.
    expect(escapeJobType('_2E')).not.toBe(escapeJobType('.'));
    expect(unescapeJobType('a_zz')).toBeUndefined();
  });

  it('builds <prefix>.<priority>.<job_type>', () => {
    expect(jobSubject('jack', 'high', 'email.send')).toBe('jack.high.email_2Esend');
  });

  it('decides whether a stream subject covers a lane', () => {
    expect(subjectCovers('jack.>', 'jack.low.>')).toBe(true);
    expect(subjectCovers('>', 'jack.low.>')).toBe(true);
    expect(subjectCovers('jack.low.>', 'jack.low.>')).toBe(true);
    expect(subjectCovers('jack.*.>', 'jack.low.>')).toBe(true);
    expect(subjectCovers('jack.high.>', 'jack.low.>')).toBe(false);
    expect(subjectCovers('jack.low.*', 'jack.low.>')).toBe(false);
    expect(subjectCovers('jack.low', 'jack.low.>')).toBe(false);
    expect(subjectCovers('other.>', 'jack.low.>')).toBe(false);
  });
});
