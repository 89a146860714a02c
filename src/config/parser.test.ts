import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseSizeBytes } from './parser.js';

describe('parseDurationMs', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['250ms', 250],
    ['10s', 10_000],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['1m0.5s', 60_500],
    ['1500us', 2],
    ['1500µs', 2],
    ['3000000ns', 3],
    [' 5s ', 5000],
  ])('%j → %j ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '10', '-1s', '1d', 's', '1.s', '1 s', '5sec', '1h 30m', 'ten'])(
    'rejects %j',
    (text) => {
      expect(parseDurationMs(text)).toBeUndefined();
    },
  );
});

describe('parseSizeBytes', () => {
  it.each([
    ['0', 0],
    ['1048576', 1_048_576],
    ['512b', 512],
    ['1KB', 1000],
    ['1kb', 1000],
    ['512KiB', 524_288],
    ['10MB', 10_000_000],
    ['16MiB', 16_777_216],
    ['16 MiB', 16_777_216],
    ['2GB', 2_000_000_000],
    ['1GiB', 1_073_741_824],
  ])('%j → %j bytes', (text, bytes) => {
    expect(parseSizeBytes(text)).toBe(bytes);
  });

  it.each(['', 'MiB', '1.5MiB', '-1', '1TB', '1e6', '10 M B', '99999999999GiB'])(
    'rejects %j',
    (text) => {
      expect(parseSizeBytes(text)).toBeUndefined();
    },
  );
});
