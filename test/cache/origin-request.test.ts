import { describe, expect, test } from 'vitest';
import { forwardedAsIs, originRequestHeaders, quoteETag } from '../../src/cache/origin-request.js';

describe('originRequestHeaders (RFC 9111 §4.3.1)', () => {
  const client = {
    ':path': '/a', host: 'example.com', accept: 'text/html', 'accept-encoding': 'gzip', cookie: 'a=b',
    'if-none-match': '"client"', 'if-modified-since': 'x', 'if-match': '"m"', 'if-unmodified-since': 'y', range: 'bytes=0-1', 'if-range': '"r"',
    'x-forwarded-host': 'evil.example', forwarded: 'host=evil', 'x-original-url': '/admin', connection: 'keep-alive', te: 'trailers',
  };
  test('the client\'s conditionals, Range, unkeyed and hop-by-hop fields are not sent', () => {
    expect(originRequestHeaders(client, undefined)).toEqual({ host: 'example.com', accept: 'text/html', 'accept-encoding': 'gzip', cookie: 'a=b' });
  });

  test.each<[{ etag: string | undefined; lastModified: string | undefined }, Record<string, string>]>([
    [{ etag: '"v1"', lastModified: undefined }, { 'if-none-match': '"v1"' }],
    [{ etag: 'W/"v1"', lastModified: 'Tue, 01 Jan 2030 00:00:00 GMT' }, { 'if-none-match': 'W/"v1"', 'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT' }],
    [{ etag: undefined, lastModified: 'Tue, 01 Jan 2030 00:00:00 GMT' }, { 'if-modified-since': 'Tue, 01 Jan 2030 00:00:00 GMT' }],
  ])('the cache\'s own validators %j', (validators, expected) => {
    const out = originRequestHeaders(client, validators);
    expect(out).toMatchObject(expected);
    expect(out['if-match']).toBeUndefined();
    if (expected['if-modified-since'] === undefined) expect(out['if-modified-since']).toBeUndefined();
  });

  test('a request forwarded as it is keeps its Range and conditionals', () => {
    expect(forwardedAsIs(client)).toMatchObject({ range: 'bytes=0-1', 'if-none-match': '"client"', 'if-range': '"r"' });
    expect(forwardedAsIs(client)).not.toHaveProperty('x-forwarded-host');
    expect(forwardedAsIs(client)).not.toHaveProperty(':path');
  });
});

test.each([
  ['"abc"', '"abc"'], ['W/"abc"', 'W/"abc"'], ['abc', '"abc"'], [' abc ', '"abc"'], ['a b', 'a b'],
])('quoteETag(%j) = %j', (etag, out) => {
  expect(quoteETag(etag)).toBe(out);
});
