import { describe, expect, test } from 'vitest';
import { parseDictionary } from '../../src/cache/structured-field.js';
import { effectiveDirectives, parseTargetedField } from '../../src/cache/targeted-cache-control.js';

describe('parseDictionary (RFC 8941 §4.2.2)', () => {
  test.each<[string, Record<string, unknown> | undefined]>([
    ['max-age=60', { 'max-age': { type: 'integer', value: 60 } }],
    ['no-store', { 'no-store': { type: 'boolean', value: true } }],
    ['a=?0, b="x y", c=tok, d=1.5, e=:aGk=:', {
      a: { type: 'boolean', value: false }, b: { type: 'string', value: 'x y' }, c: { type: 'token', value: 'tok' },
      d: { type: 'decimal', value: 1.5 }, e: { type: 'bytes', value: 'aGk=' },
    }],
    ['a=1;p=2, b;q', { a: { type: 'integer', value: 1 }, b: { type: 'boolean', value: true } }],
    ['l=(1 2), m=3', { l: { type: 'inner-list', items: [{ type: 'integer', value: 1 }, { type: 'integer', value: 2 }] }, m: { type: 'integer', value: 3 } }],
    ['a=1, a=2', { a: { type: 'integer', value: 2 } }],
    ['  max-age=99999999999  ', { 'max-age': { type: 'integer', value: 99999999999 } }],
    ['MaX-aGe=3600', undefined], // keys are lower-case
    ['max-age=10000, &&&&&', undefined],
    ['max-age=60,', undefined],
    ['max-age =60', undefined],
    ['a=1234567890123456', undefined], // more than 15 digits
    ['a="unterminated', undefined],
    ['a=1.', undefined],
  ])('%j', (value, expected) => {
    const d = parseDictionary(value);
    expect(d === undefined ? undefined : Object.fromEntries(d)).toEqual(expected);
  });
});

describe('parseTargetedField: directive values of the wrong type are ignored', () => {
  test.each<[string, [string, string | true][] | undefined]>([
    ['max-age=60, s-maxage=5', [['max-age', '60'], ['s-maxage', '5']]],
    ['max-age="60"', []],
    ['max-age=-1', []],
    ['max-age=1.5', []],
    ['no-store, private="x-a"', [['no-store', true], ['private', 'x-a']]],
    ['no-store=?0', []],
    ['bad syntax!', undefined],
  ])('%j', (value, expected) => {
    const d = parseTargetedField(value);
    expect(d === undefined ? undefined : [...d]).toEqual(expected);
  });
});

describe('effectiveDirectives: which field governs (RFC 9213 §2.1)', () => {
  test.each<[Record<string, string>, string, number | undefined, boolean]>([
    // headers, source, maxAge, useExpires
    [{ 'cache-control': 'max-age=10' }, 'cache-control', 10, true],
    [{ 'cache-control': 'max-age=10', 'cdn-cache-control': 'max-age=99' }, 'cdn-cache-control', 99, false],
    [{ 'cache-control': 'max-age=10', 'cdn-cache-control': 'max-age=99, &&' }, 'cache-control', 10, true],
    [{ 'cache-control': 'max-age=10', 'cdn-cache-control': '' }, 'cache-control', 10, true],
    [{ 'cache-control': 'max-age=10', 'surrogate-control': 'max-age=50' }, 'surrogate-control', 50, false],
    [{ 'cdn-cache-control': 'max-age=1', 'surrogate-control': 'max-age=50' }, 'cdn-cache-control', 1, false],
    [{}, 'cache-control', undefined, true],
  ])('%j', (headers, source, maxAge, useExpires) => {
    const e = effectiveDirectives(headers);
    expect([e.source, e.directives.maxAge, e.useExpires]).toEqual([source, maxAge, useExpires]);
  });

  test('CDN-Cache-Control: private or no-store keep the response out even with Cache-Control max-age', () => {
    expect(effectiveDirectives({ 'cdn-cache-control': 'private', 'cache-control': 'max-age=100' }).directives.private).toBe(true);
    expect(effectiveDirectives({ 'cdn-cache-control': 'no-store', 'cache-control': 'max-age=100' }).directives.noStore).toBe(true);
  });

  test('Cache-Control values seen before give the same answer, and what one caller gets cannot be changed under the others', () => {
    const a = effectiveDirectives({ 'cache-control': 'public, max-age=60, no-cache="set-cookie"' });
    const b = effectiveDirectives({ 'cache-control': 'public, max-age=60, no-cache="set-cookie"' });
    expect(b.directives).toEqual(a.directives);
    expect(a.directives.maxAge).toBe(60);
    expect(a.directives.noCacheFields).toEqual(['set-cookie']);
    expect(() => { (a.directives as { maxAge: number }).maxAge = 1; }).toThrow(TypeError);
    expect(() => { (a.directives.noCacheFields as string[]).push('x'); }).toThrow(TypeError);
    expect(effectiveDirectives({ 'cache-control': 'public, max-age=60, no-cache="set-cookie"' }).directives.maxAge).toBe(60);
    // A different value, and no field at all, are not confused with it; many values stay correct.
    expect(effectiveDirectives({ 'cache-control': 'max-age=61' }).directives.maxAge).toBe(61);
    expect(effectiveDirectives({}).directives.maxAge).toBeUndefined();
    for (let i = 0; i < 600; i++) expect(effectiveDirectives({ 'cache-control': `max-age=${i}` }).directives.maxAge).toBe(i);
    expect(effectiveDirectives({ 'cache-control': ['max-age=5', 'no-store'] }).directives.noStore).toBe(true);
  });
});
