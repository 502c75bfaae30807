import { describe, expect, it } from 'vitest';
import { normalizePrefix, parseStaticTarget } from '../../src/static/target.js';

type Expect = 'outside' | 'bad' | 'hidden' | { segments: string[]; directory: boolean; query?: string };

describe('parseStaticTarget', () => {
  const cases: [string, string, Expect][] = [
    ['/static', '/static/app.js', { segments: ['app.js'], directory: false }],
    ['/static', '/static/css/site.css?v=3', { segments: ['css', 'site.css'], directory: false, query: '?v=3' }],
    ['/static', '/static', { segments: [], directory: false }],
    ['/static', '/static/', { segments: [], directory: true }],
    ['/static', '/static/docs/', { segments: ['docs'], directory: true }],
    ['/static', '/static/a%20b.txt', { segments: ['a b.txt'], directory: false }],
    ['/static', '/static/%E2%82%AC.txt', { segments: ['€.txt'], directory: false }],
    ['/static', '/static/100%25', { segments: ['100%'], directory: false }], // a lone "%" is a name
    ['/static', '/static/%2541.txt', 'bad'], // "%41.txt": still encoded after one decode
    ['/', '/', { segments: [], directory: true }],
    ['/', '/index.html', { segments: ['index.html'], directory: false }],
    ['/', '/.well-known/security.txt', { segments: ['.well-known', 'security.txt'], directory: false }],
    // not ours
    ['/static', '/staticfoo/app.js', 'outside'],
    ['/static', '/other/app.js', 'outside'],
    ['/static', 'http://example.com/static/app.js', 'outside'],
    ['/static', '*', 'outside'],
    // traversal, raw and encoded
    ['/static', '/static/../etc/passwd', 'bad'],
    ['/', '/../etc/passwd', 'bad'],
    ['/', '/./index.html', 'bad'],
    ['/', '/a/..', 'bad'],
    ['/', '/%2e%2e/etc/passwd', 'bad'],
    ['/', '/%2E%2E/etc/passwd', 'bad'],
    ['/', '/%2e%2e%2fetc%2fpasswd', 'bad'],
    ['/', '/..%2fetc%2fpasswd', 'bad'],
    ['/', '/a%2f..%2f..%2fetc', 'bad'],
    ['/', '/.%2e/etc/passwd', 'bad'],
    ['/', '/%252e%252e/etc/passwd', 'bad'],
    ['/', '/%252e%252e%252fetc', 'bad'],
    // backslashes, raw and encoded
    ['/', '/..\\etc\\passwd', 'bad'],
    ['/', '/a\\b', 'bad'],
    ['/', '/..%5cetc%5cpasswd', 'bad'],
    // NUL and control characters
    ['/', '/index.html%00.png', 'bad'],
    ['/', '/index.html\u0000', 'bad'],
    ['/', '/a%0ab', 'bad'],
    ['/', '/a b', 'bad'],
    // invalid percent-encoding
    ['/', '/%', 'bad'],
    ['/', '/%zz', 'bad'],
    ['/', '/%e2%82', 'bad'], // truncated UTF-8
    ['/', '/%c0%ae%c0%ae/etc/passwd', 'bad'], // overlong "." encoding
    ['/', '/caf\u00e9.txt', 'bad'], // raw non-ASCII
    // hidden
    ['/', '/.env', 'hidden'],
    ['/', '/%2eenv', 'hidden'],
    ['/', '/.git/config', 'hidden'],
    ['/', '/.git/', 'hidden'],
    ['/', '/assets/.secret/x.js', 'hidden'],
    ['/', '/assets/.well-known/x', 'hidden'],
    ['/', '//evil.example/', 'hidden'],
    ['/', '/a//b', 'hidden'],
    ['/', '/.env/%2e%2e/x', 'bad'],
  ];
  it.each(cases)('prefix %s, %j → %j', (prefix, target, expected) => {
    const got = parseStaticTarget(target, prefix);
    if (typeof expected === 'string') {
      expect(got.kind).toBe(expected);
    } else {
      expect(got).toMatchObject({ kind: 'path', segments: expected.segments, directory: expected.directory, query: expected.query ?? '' });
    }
  });

  it('keeps the raw path for redirects', () => {
    expect(parseStaticTarget('/static/a%20dir?x=1', '/static')).toMatchObject({ rawPath: '/static/a%20dir', query: '?x=1' });
  });
});

describe('normalizePrefix', () => {
  it.each([['/', '/'], ['/static', '/static'], ['/static/', '/static'], ['//', '/']])('%j → %j', (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected);
  });
});
