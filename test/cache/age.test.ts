import { describe, expect, test } from 'vitest';
import { ageSeconds, correctedInitialAge, currentAge, parseAge } from '../../src/cache/age.js';

describe('parseAge (RFC 9111 §5.1)', () => {
  test.each<[string | string[] | undefined, number]>([
    [undefined, 0], ['0', 0], ['15', 15], [' 15 ', 15], ['abc', 0], ['-7200', 0], ['7200.0', 0],
    ['7200,0', 0], [['7200', '0'], 7200], [['0', '7200'], 0], ['99999999999', 2147483648],
  ])('%j → %d', (value, out) => {
    expect(parseAge(value === undefined ? {} : { age: value })).toBe(out);
  });
});

describe('correctedInitialAge (§4.2.3)', () => {
  const T = 1_700_000_000_000;
  test.each([
    // ageValue s, date offset s (undefined: no Date), request offset ms, response offset ms, expected ms
    { name: 'fresh from origin', ageValue: 0, date: 0, req: 0, res: 0, out: 0 },
    { name: 'Age header', ageValue: 30, date: 0, req: 0, res: 0, out: 30_000 },
    { name: 'response delay added to Age', ageValue: 30, date: 0, req: -200, res: 0, out: 30_200 },
    { name: 'apparent age from an old Date wins', ageValue: 5, date: -60, req: 0, res: 0, out: 60_000 },
    { name: 'a Date in the future gives no negative age', ageValue: 0, date: 60, req: 0, res: 0, out: 0 },
    { name: 'no Date: Age and delay only', ageValue: 10, date: undefined, req: -1000, res: 0, out: 11_000 },
  ])('$name', ({ ageValue, date, req, res, out }) => {
    expect(correctedInitialAge({ ageValue, dateValue: date === undefined ? undefined : T + date * 1000, requestTime: T + req, responseTime: T + res })).toBe(out);
  });

  test.each([
    [0, 0, 0, 0], [5000, 1000, 4000, 8000], [5000, 1000, 500, 5000],
  ])('currentAge(%d, %d, %d) = %d', (initial, responseTime, now, out) => {
    expect(currentAge(initial, responseTime, now)).toBe(out);
  });

  test.each([[-5, 0], [0, 0], [999, 0], [1000, 1], [61_999, 61]])('ageSeconds(%d) = %d', (ms, s) => {
    expect(ageSeconds(ms)).toBe(s);
  });
});
