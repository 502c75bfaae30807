import { expect, test } from 'vitest';
import { MAX_TAGS, surrogateKeys } from '../../src/cache/surrogate-keys.js';

test.each<[Record<string, string | string[]>, string[]]>([
  [{}, []],
  [{ 'surrogate-key': 'a b  c' }, ['a', 'b', 'c']],
  [{ 'cache-tag': 'a, b,c' }, ['a', 'b', 'c']],
  [{ 'surrogate-key': 'a b', 'cache-tag': 'b,c' }, ['a', 'b', 'c']],
  [{ 'surrogate-key': ['a', 'b'] }, ['a', 'b']],
  [{ 'cache-tag': 'Product-1, product-1' }, ['Product-1', 'product-1']],
  [{ 'surrogate-key': ' ', 'cache-tag': ',' }, []],
])('%j → %j', (headers, tags) => {
  expect(surrogateKeys(headers)).toEqual(tags);
});

test('tags are bounded in number and length', () => {
  const many = Array.from({ length: 200 }, (_, i) => `t${i}`).join(' ');
  expect(surrogateKeys({ 'surrogate-key': many })).toHaveLength(MAX_TAGS);
  expect(surrogateKeys({ 'surrogate-key': 'x'.repeat(300) })).toEqual([]);
});
