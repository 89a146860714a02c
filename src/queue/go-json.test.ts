import { describe, expect, it } from 'vitest';
import { goCompactJson, goJsonString, goTime } from './go-json.js';

/**
 * Expected bytes follow Go's documented encoding/json behaviour: Marshal of a
 * RawMessage compacts it ("insignificant space characters elided") with HTML
 * escaping, and "String values encode as JSON strings coerced to valid UTF-8
 * … '<', '>', '&' … escaped to \u003c, \u003e, \u0026 … U+2028 and U+2029
 * are escaped to \u2028 and \u2029".
 */
describe('goCompactJson (json.Marshal of a json.RawMessage)', () => {
  it.each([
    ['already compact', '{"a":1,"b":[true,null]}', '{"a":1,"b":[true,null]}'],
    ['space around tokens', '{"a": 1}', '{"a":1}'],
    ['all four whitespace bytes', ' \n\t{ "a" :\r\n [ 1 , 2 ] }\r\n', '{"a":[1,2]}'],
    ['a top-level scalar', ' 42 ', '42'],
    ['a top-level string', ' "x y" ', '"x y"'],
    ['space inside strings kept', '{"s": " a  b "}', '{"s":" a  b "}'],
    [
      '< > & in a value',
      '{"html":"<b>&amp;</b>"}',
      '{"html":"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e"}',
    ],
    [
      'nested strings with < > & and spaces',
      '{"x": {"y": ["a < b", "c > d & e"]}}',
      '{"x":{"y":["a \\u003c b","c \\u003e d \\u0026 e"]}}',
    ],
    ['< > & in a key', '{"<k>&": 1}', '{"\\u003ck\\u003e\\u0026":1}'],
    ['U+2028 and U+2029 escaped', '["a\u2028b", "\u2029"]', '["a\\u2028b","\\u2029"]'],
    ['other non-ASCII kept as is', '{"é": "日本 \u2027"}', '{"é":"日本 \u2027"}'],
    [
      'escapes kept verbatim',
      '{"e": "\\u00e9\\n\\"\\\\\\/ \\u003c"}',
      '{"e":"\\u00e9\\n\\"\\\\\\/ \\u003c"}',
    ],
    [
      'an escaped backslash before a closing quote',
      '{"a": "\\\\", "b": " x "}',
      '{"a":"\\\\","b":" x "}',
    ],
    [
      'an escaped quote inside a string',
      '["say \\" <hi> ", 1 ]',
      '["say \\" \\u003chi\\u003e ",1]',
    ],
    [
      'number spelling kept',
      '[1.50, 1e3, -0, 1E+2, 12345678901234567890]',
      '[1.50,1e3,-0,1E+2,12345678901234567890]',
    ],
  ])('%s', (_name, input, expected) => {
    expect(goCompactJson(Buffer.from(input)).toString('utf8')).toBe(expected);
  });

  it('returns the same buffer when nothing changes (no copy)', () => {
    const json = Buffer.from('{"a":[1,"b c"]}');
    expect(goCompactJson(json)).toBe(json);
  });
});

describe('goJsonString (json.Marshal of a string)', () => {
  it.each([
    ['send_email', '"send_email"'],
    ['a<b>&c', '"a\\u003cb\\u003e\\u0026c"'],
    ['quote"back\\slash', '"quote\\"back\\\\slash"'],
    ['tab\tnl\ncr\r', '"tab\\tnl\\ncr\\r"'],
    ['\b\f', '"\\b\\f"'],
    ['\u0001\u001f', '"\\u0001\\u001f"'],
    ['line\u2028para\u2029', '"line\\u2028para\\u2029"'],
    ['é/日本', '"é/日本"'],
  ])('%j → %s', (input, expected) => {
    expect(goJsonString(input)).toBe(expected);
  });
});

describe('goTime (time.Time.MarshalJSON of a UTC time)', () => {
  it.each([
    ['2026-11-22T11:00:00.000Z', '"2026-11-22T11:00:00Z"'],
    ['2026-11-22T11:00:00.100Z', '"2026-11-22T11:00:00.1Z"'],
    ['2026-11-22T11:00:00.120Z', '"2026-11-22T11:00:00.12Z"'],
    ['2026-11-22T11:00:00.456Z', '"2026-11-22T11:00:00.456Z"'],
    ['2026-11-22T11:00:00.005Z', '"2026-11-22T11:00:00.005Z"'],
  ])('%s → %s', (iso, expected) => {
    expect(goTime(iso)).toBe(expected);
  });
});
