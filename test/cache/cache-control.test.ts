import { describe, expect, test } from 'vitest';
import { parseDeltaSeconds, parseDirectives, requestDirectives, responseDirectives } from '../../src/cache/cache-control.js';

describe('parseDirectives (RFC 9111 §5.2)', () => {
  test.each<[string, [string, string | true | null][]]>([
    ['max-age=60', [['max-age', '60']]],
    ['MaX-AgE=60, No-Store', [['max-age', '60'], ['no-store', true]]],
    ['max-age="60"', [['max-age', '60']]],
    ['  public ,, max-age=1 ,', [['public', true], ['max-age', '1']]],
    ['max-age=1800, max-age=1', [['max-age', '1800']]],
    ['extension="max-age=100", max-age=1', [['extension', 'max-age=100'], ['max-age', '1']]],
    ['max-age=1, extension="a, max-age=100"', [['max-age', '1'], ['extension', 'a, max-age=100']]],
    ['no-cache="a, b", private="c"', [['no-cache', 'a, b'], ['private', 'c']]],
    ['x="a\\"b"', [['x', 'a"b']]],
    ['max-age =100', [['max-age', null]]],
    ['max-age= 100', [['max-age', null]]],
    ['max-age=', [['max-age', null]]],
    ['max-age="unterminated', [['max-age', null]]],
    ['max-age=100 x, public', [['max-age', null], ['public', true]]],
    ["max-age='3600'", [['max-age', "'3600'"]]],
    ['=5, public', [['public', true]]],
    ['', []],
  ])('%j', (value, directives) => {
    expect([...parseDirectives(value)]).toEqual(directives);
  });
});

describe('parseDeltaSeconds (§1.2.2)', () => {
  test.each<[string | true | null | undefined, number | undefined]>([
    ['0', 0], ['60', 60], ['003600', 3600], ['2147483648', 2147483648], ['99999999999', 2147483648],
    ['-1', undefined], ['3600.0', undefined], ['a100', undefined], ['100a', undefined], ["'60'", undefined],
    [true, undefined], [null, undefined], [undefined, undefined], ['', undefined],
  ])('%j → %j', (arg, out) => {
    expect(parseDeltaSeconds(arg)).toBe(out);
  });
});

describe('responseDirectives (§5.2.2)', () => {
  const rd = (v: string) => responseDirectives(parseDirectives(v));
  test.each<[string, Partial<ReturnType<typeof rd>>]>([
    ['max-age=60', { maxAge: 60, sMaxAge: undefined }],
    ['max-age=a100', { maxAge: 0 }], // invalid → stale (§4.2.1)
    ['max-age=-5', { maxAge: 0 }],
    ['max-age =100', { maxAge: 0 }],
    ['s-maxage=5, max-age=60', { sMaxAge: 5, maxAge: 60 }],
    ['no-cache', { noCache: true, noCacheFields: [] }],
    ['no-cache="Set-Cookie, X-A"', { noCache: false, noCacheFields: ['set-cookie', 'x-a'] }],
    ['private', { private: true, privateFields: [] }],
    ['private="x-user"', { private: false, privateFields: ['x-user'] }],
    ['no-store, public, must-revalidate, proxy-revalidate, immutable, must-understand', {
      noStore: true, public: true, mustRevalidate: true, proxyRevalidate: true, immutable: true, mustUnderstand: true,
    }],
    ['stale-while-revalidate=30, stale-if-error=600', { staleWhileRevalidate: 30, staleIfError: 600 }],
    ['stale-while-revalidate=x', { staleWhileRevalidate: undefined }],
  ])('%s', (value, expected) => {
    expect(rd(value)).toMatchObject(expected);
  });
});

describe('requestDirectives (§5.2.1)', () => {
  test.each<[string | undefined, Partial<ReturnType<typeof requestDirectives>>]>([
    [undefined, { maxAge: undefined, noCache: false, onlyIfCached: false }],
    ['max-age=0', { maxAge: 0 }],
    ['max-stale', { maxStale: Infinity }],
    ['max-stale=100', { maxStale: 100 }],
    ['min-fresh=20, no-cache', { minFresh: 20, noCache: true }],
    ['no-store, only-if-cached', { noStore: true, onlyIfCached: true }],
    ['stale-if-error=60', { staleIfError: 60 }],
  ])('%j', (value, expected) => {
    expect(requestDirectives(value === undefined ? {} : { 'cache-control': value })).toMatchObject(expected);
  });

  test('Pragma is not read (RFC 9111 §5.4)', () => {
    expect(requestDirectives({ pragma: 'no-cache' }).noCache).toBe(false);
  });
});
