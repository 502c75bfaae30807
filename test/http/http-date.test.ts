import { describe, expect, it } from 'vitest';
import { formatHttpDate, parseHttpDate } from '../../src/http/http-date.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2025, 0, 1);

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  const cases: [string, number | undefined][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', NOV_6_1994],
    ['  Sun, 06 Nov 1994 08:49:37 GMT ', NOV_6_1994],
    ['Sunday, 06-Nov-94 08:49:37 GMT', NOV_6_1994],
    ['Sun Nov  6 08:49:37 1994', NOV_6_1994],
    ['Sun Nov 16 08:49:37 1994', Date.UTC(1994, 10, 16, 8, 49, 37)],
    // rfc850 two-digit year: more than 50 years ahead of NOW (2025) means last century
    ['Thursday, 01-Jan-70 00:00:00 GMT', Date.UTC(2070, 0, 1)],
    ['Sunday, 01-Jan-95 00:00:00 GMT', Date.UTC(1995, 0, 1)],
    ['Friday, 01-Jan-75 00:00:00 GMT', Date.UTC(2075, 0, 1)],
    ['Saturday, 01-Jan-76 00:00:00 GMT', Date.UTC(1976, 0, 1)],
    ['Thu, 29 Feb 2024 23:59:59 GMT', Date.UTC(2024, 1, 29, 23, 59, 59)],
    ['Wed, 31 Dec 2025 23:59:60 GMT', Date.UTC(2026, 0, 1)], // leap second
    ['Thu, 01 Jan 0099 00:00:00 GMT', new Date('0099-01-01T00:00:00Z').getTime()],
    // invalid
    ['', undefined],
    ['garbage', undefined],
    ['Sun, 06 Nov 1994 08:49:37 UTC', undefined],
    ['Sun, 06 Nov 1994 08:49:37', undefined],
    ['Sun, 6 Nov 1994 08:49:37 GMT', undefined],
    ['sun, 06 nov 1994 08:49:37 GMT', undefined],
    ['Sun, 06 Nov 94 08:49:37 GMT', undefined],
    ['Sun, 31 Feb 1994 08:49:37 GMT', undefined],
    ['Sun, 29 Feb 2023 08:49:37 GMT', undefined],
    ['Sun, 06 Nov 1994 24:00:00 GMT', undefined],
    ['Sun, 06 Nov 1994 08:60:00 GMT', undefined],
    ['Sun, 06 Nov 1994 08:49:61 GMT', undefined],
    ['Sun, 00 Nov 1994 08:49:37 GMT', undefined],
    ['Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT', undefined],
    ['1994-11-06T08:49:37Z', undefined],
    ['784111777', undefined],
  ];
  it.each(cases)('%j → %s', (input, expected) => {
    expect(parseHttpDate(input, NOW)).toBe(expected);
  });

  it('answers a value seen before the same way, among many others (parsed values are remembered)', () => {
    const base = Date.UTC(2026, 10, 24, 9, 0, 0);
    // More distinct dates than are remembered, each asked for twice, interleaved with a fixed one.
    for (let i = 0; i < 600; i++) {
      const v = new Date(base + i * 1000).toUTCString();
      expect(parseHttpDate(v, NOW)).toBe(base + i * 1000);
      expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(784111777000);
      expect(parseHttpDate(v, NOW)).toBe(base + i * 1000);
    }
    // Invalid ones are never remembered as valid.
    expect(parseHttpDate('Sun, 31 Feb 1994 08:49:37 GMT', NOW)).toBeUndefined();
    expect(parseHttpDate('Sun, 31 Feb 1994 08:49:37 GMT', NOW)).toBeUndefined();
  });
});

describe('formatHttpDate', () => {
  it.each([
    [NOV_6_1994, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    [NOV_6_1994 + 999, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    [0, 'Thu, 01 Jan 1970 00:00:00 GMT'],
  ])('%d → %s', (ms, expected) => {
    expect(formatHttpDate(ms)).toBe(expected);
    expect(parseHttpDate(expected)).toBe(Math.floor(ms / 1000) * 1000);
  });
});
