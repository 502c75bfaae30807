import { describe, expect, it } from 'vitest';
import { formatETag, parseETag, parseETagList, strongCompare, weakCompare } from '../../src/http/etag.js';
import type { EntityTag } from '../../src/http/etag.js';

const s = (tag: string): EntityTag => ({ weak: false, tag });
const w = (tag: string): EntityTag => ({ weak: true, tag });

describe('parseETag (RFC 9110 §8.8.3)', () => {
  it.each([
    ['"xyzzy"', s('xyzzy')],
    ['W/"xyzzy"', w('xyzzy')],
    ['""', s('')],
    [' "a,b" ', s('a,b')],
    ['xyzzy', undefined],
    ['"xyzzy', undefined],
    ['w/"xyzzy"', undefined],
    ['"a"b"', undefined],
    ['"a b"', undefined],
    ['"', undefined],
  ] as const)('%j', (input, expected) => {
    expect(parseETag(input)).toEqual(expected);
    if (expected) expect(formatETag(expected)).toBe(input.trim());
  });
});

describe('parseETagList (If-Match / If-None-Match)', () => {
  it.each([
    ['*', '*'],
    [' * ', '*'],
    ['"a"', [s('a')]],
    ['"a", W/"b" ,"c,d"', [s('a'), w('b'), s('c,d')]],
    [', "a",, "b" ,', [s('a'), s('b')]],
    ['"a" "b"', undefined],
    ['a, "b"', undefined],
    ['"a", *', undefined],
    ['"a', undefined],
    ['', undefined],
    [' , ', undefined],
  ] as const)('%j', (input, expected) => {
    expect(parseETagList(input)).toEqual(expected);
  });
});

describe('comparison (RFC 9110 §8.8.3.2 table)', () => {
  it.each([
    [w('1'), w('1'), false, true],
    [w('1'), w('2'), false, false],
    [w('1'), s('1'), false, true],
    [s('1'), s('1'), true, true],
    [s('1'), s('2'), false, false],
  ])('%j vs %j: strong %s, weak %s', (a, b, strong, weak) => {
    expect(strongCompare(a, b)).toBe(strong);
    expect(weakCompare(a, b)).toBe(weak);
    expect(strongCompare(b, a)).toBe(strong);
    expect(weakCompare(b, a)).toBe(weak);
  });
});
