import { describe, expect, it } from 'vitest';
import { contentRange, evaluateIfRange, parseRange, unsatisfiedRange } from '../../src/http/range.js';
import type { RangeResult } from '../../src/http/range.js';

const none: RangeResult = { kind: 'none' };
const unsat: RangeResult = { kind: 'unsatisfiable' };
const r = (start: number, end: number): RangeResult => ({ kind: 'range', start, end });

describe('parseRange (RFC 9110 §14.1.2, §14.2)', () => {
  const cases: [string | undefined, number, RangeResult][] = [
    [undefined, 10_000, none],
    ['bytes=0-499', 10_000, r(0, 499)],
    ['bytes=500-999', 10_000, r(500, 999)],
    ['bytes=-500', 10_000, r(9500, 9999)],
    ['bytes=9500-', 10_000, r(9500, 9999)],
    ['bytes=0-0', 10_000, r(0, 0)],
    ['bytes=-1', 10_000, r(9999, 9999)],
    ['BYTES=0-1', 10_000, r(0, 1)],
    ['bytes= 0-1 ,', 10_000, r(0, 1)],
    // clamped
    ['bytes=9000-20000', 10_000, r(9000, 9999)],
    ['bytes=-20000', 10_000, r(0, 9999)],
    ['bytes=0-99999999999999999999999', 10, r(0, 9)],
    // unsatisfiable → 416
    ['bytes=10000-', 10_000, unsat],
    ['bytes=10000-10001', 10_000, unsat],
    ['bytes=-0', 10_000, unsat],
    ['bytes=0-', 0, unsat],
    ['bytes=20000-30000,40000-', 10_000, unsat],
    // zero length: a suffix is satisfiable but has nothing to send → full (empty) response
    ['bytes=-5', 0, none],
    // ignored: other units, invalid syntax
    ['items=0-5', 10_000, none],
    ['bytes', 10_000, none],
    ['bytes=', 10_000, none],
    ['bytes=5-1', 10_000, none],
    ['bytes=a-b', 10_000, none],
    ['bytes=-', 10_000, none],
    ['bytes=1-2-3', 10_000, none],
    ['bytes=0x1-2', 10_000, none],
    ['bytes=+1-2', 10_000, none],
    ['bytes = 0-1', 10_000, none],
    ['bytes=0-1,5-1', 10_000, none],
    // several ranges → the full representation (documented choice)
    ['bytes=0-0,-1', 10_000, none],
    ['bytes=0-499,500-999', 10_000, none],
    ['bytes=0-1,20000-', 10_000, none],
  ];
  it.each(cases)('%j of %d', (value, length, expected) => {
    expect(parseRange(value, length)).toEqual(expected);
  });
});

describe('Content-Range', () => {
  it('formats 206 and 416 values (§14.4)', () => {
    expect(contentRange(0, 499, 1234)).toBe('bytes 0-499/1234');
    expect(unsatisfiedRange(1234)).toBe('bytes */1234');
  });
});

describe('evaluateIfRange (RFC 9110 §13.1.5)', () => {
  const LM = Date.UTC(2024, 0, 10, 12, 0, 0) + 250;
  const NOW = LM + 60_000;
  const rep = { etag: '"v1"', lastModified: LM };
  const cases: [string, string | undefined, { etag?: string; lastModified?: number }, number, boolean][] = [
    ['absent', undefined, rep, NOW, true],
    ['strong match', '"v1"', rep, NOW, true],
    ['different tag', '"v2"', rep, NOW, false],
    ['weak tag never matches', 'W/"v1"', rep, NOW, false],
    ['current ETag weak', '"v1"', { etag: 'W/"v1"', lastModified: LM }, NOW, false],
    ['no current ETag', '"v1"', { lastModified: LM }, NOW, false],
    ['exact date', 'Wed, 10 Jan 2024 12:00:00 GMT', rep, NOW, true],
    ['later date', 'Wed, 10 Jan 2024 12:00:01 GMT', rep, NOW, false],
    ['earlier date', 'Wed, 10 Jan 2024 11:59:59 GMT', rep, NOW, false],
    ['date but Last-Modified is weak (within 1s of now)', 'Wed, 10 Jan 2024 12:00:00 GMT', rep, LM + 500, false],
    ['date without Last-Modified', 'Wed, 10 Jan 2024 12:00:00 GMT', { etag: '"v1"' }, NOW, false],
    ['garbage', 'yesterday', rep, NOW, false],
  ];
  it.each(cases)('%s', (_name, value, current, now, expected) => {
    expect(evaluateIfRange(value, current, now)).toBe(expected);
  });
});
