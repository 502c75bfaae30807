import { describe, expect, test } from 'vitest';
import { cacheKey, isCacheableTarget, keyPrefix, normaliseAuthority } from '../../src/cache/key.js';

describe('cacheKey', () => {
  test.each([
    // scheme, host, target, key
    ['https', 'example.com', '/a?b=1', 'https://example.com/a?b=1'],
    ['HTTPS', 'Example.COM', '/a', 'https://example.com/a'],
    ['https', 'example.com:443', '/', 'https://example.com/'],
    ['http', 'example.com:80', '/', 'http://example.com/'],
    ['https', 'example.com:80', '/', 'https://example.com:80/'],
    ['http', 'example.com:443', '/', 'http://example.com:443/'],
    ['https', 'example.com:0443', '/', 'https://example.com/'],
    ['https', 'example.com:08443', '/', 'https://example.com:8443/'],
    ['https', 'example.com:', '/', 'https://example.com/'],
    ['https', '[2001:DB8::1]:443', '/', 'https://[2001:db8::1]/'],
    ['https', '[2001:db8::1]', '/', 'https://[2001:db8::1]/'],
    ['https', '[2001:db8::1]:8443', '/', 'https://[2001:db8::1]:8443/'],
    // kept exactly: the origin may distinguish these spellings
    ['https', 'example.com.', '/', 'https://example.com./'],
    ['https', 'example.com', '/a/../b', 'https://example.com/a/../b'],
    ['https', 'example.com', '/%2F', 'https://example.com/%2F'],
    ['https', 'example.com', '/%2f', 'https://example.com/%2f'],
    ['https', 'example.com', '/a?', 'https://example.com/a?'],
    ['https', 'example.com', '/a?y=2&x=1', 'https://example.com/a?y=2&x=1'],
    ['https', 'example.com', '/A', 'https://example.com/A'],
  ])('%s %s %s → %s', (scheme, host, target, key) => {
    expect(cacheKey(scheme, host, target)).toBe(key);
  });

  test('spellings the origin may treat differently get different keys', () => {
    const keys = ['/a', '/a?', '/A', '/a/', '/%61', '/a?x=1&y=2', '/a?y=2&x=1'].map((t) => cacheKey('https', 'h', t));
    expect(new Set(keys).size).toBe(keys.length);
    expect(cacheKey('http', 'h', '/')).not.toBe(cacheKey('https', 'h', '/'));
  });
});

describe('normaliseAuthority', () => {
  test.each([
    ['https', 'a.example:443', 'a.example'],
    ['https', 'a.example:abc', 'a.example:abc'],
    ['http', 'A.example', 'a.example'],
  ])('%s %s → %s', (scheme, host, out) => {
    expect(normaliseAuthority(scheme, host)).toBe(out);
  });
});

describe('keyPrefix and isCacheableTarget', () => {
  test.each([
    ['https://Example.com/img/', 'https://example.com/img/'],
    ['https://example.com', 'https://example.com/'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['example.com/a', undefined],
    ['ftp://example.com/', undefined],
  ])('keyPrefix(%s) → %s', (prefix, out) => {
    expect(keyPrefix(prefix)).toBe(out);
  });

  test.each([
    ['/', true], ['/a?b', true], ['*', false], ['http://example.com/', false], ['', false],
  ])('isCacheableTarget(%s) → %s', (t, out) => {
    expect(isCacheableTarget(t)).toBe(out);
  });
});
