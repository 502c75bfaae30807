import { describe, expect, test } from 'vitest';
import { normaliseFieldValue, parseVary, secondaryKey } from '../../src/cache/vary.js';

describe('parseVary (RFC 9111 §4.1)', () => {
  test.each<[string | string[] | undefined, unknown]>([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    [', ,', { kind: 'none' }],
    ['*', { kind: 'star' }],
    ['*, *', { kind: 'star' }],
    [', *', { kind: 'star' }],
    [['', '*'], { kind: 'star' }],
    ['Foo, *', { kind: 'star' }],
    ['Accept-Encoding', { kind: 'names', names: ['accept-encoding'] }],
    ['Foo, bar, FOO', { kind: 'names', names: ['bar', 'foo'] }],
    [['Foo', 'Bar'], { kind: 'names', names: ['bar', 'foo'] }],
  ])('%j', (value, out) => {
    expect(parseVary(value)).toEqual(out);
  });
});

describe('secondaryKey', () => {
  const key = (h: Record<string, string | string[]>) => secondaryKey(['bar', 'foo'], h);
  test.each<[Record<string, string | string[]>, Record<string, string | string[]>, boolean]>([
    [{ foo: '1' }, { foo: '1' }, true],
    [{ foo: '1' }, { foo: '2' }, false],
    [{ foo: '1' }, {}, false],
    [{}, { foo: '' }, false], // absent ≠ empty
    [{ foo: '1', bar: 'abc' }, { bar: 'abc', foo: '1' }, true],
    [{ foo: '1,2' }, { foo: ' 1, 2 ' }, true],
    [{ foo: '1, 2' }, { foo: ['1', '2'] }, true],
    [{ foo: '1', other: 'x' }, { foo: '1', other: 'y' }, true],
    [{ foo: 'a', bar: 'b' }, { foo: 'ab' }, false],
  ])('%j vs %j', (a, b, same) => {
    expect(key(a) === key(b)).toBe(same);
  });

  test.each<[string | string[] | undefined, string | undefined]>([
    [undefined, undefined], ['x', 'x'], [' x ', 'x'], ['a , b', 'a,b'], [['a', 'b '], 'a,b'],
  ])('normaliseFieldValue(%j) = %j', (v, out) => {
    expect(normaliseFieldValue(v)).toBe(out);
  });
});
