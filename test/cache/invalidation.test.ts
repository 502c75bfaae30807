import { describe, expect, test } from 'vitest';
import { invalidationKeys, isSafeMethod } from '../../src/cache/invalidation.js';

const req = (method: string, target = '/items/1') => ({ method, scheme: 'https', host: 'example.com', target });

describe('invalidationKeys (RFC 9111 §4.4)', () => {
  test.each<[string, string, number, Record<string, string>, string[]]>([
    ['POST 200', 'POST', 200, {}, ['https://example.com/items/1']],
    ['PUT 204', 'PUT', 204, {}, ['https://example.com/items/1']],
    ['DELETE 303', 'DELETE', 303, {}, ['https://example.com/items/1']],
    ['extension method', 'M-SEARCH', 200, {}, ['https://example.com/items/1']],
    ['error status: nothing', 'POST', 500, {}, []],
    ['client error: nothing', 'POST', 404, {}, []],
    ['GET: nothing', 'GET', 200, {}, []],
    ['OPTIONS: nothing', 'OPTIONS', 200, {}, []],
    ['relative Location', 'POST', 201, { location: '../items/2' }, ['https://example.com/items/1', 'https://example.com/items/2']],
    ['absolute same-host Content-Location', 'POST', 200, { 'content-location': 'https://EXAMPLE.com:443/c?x=1' }, ['https://example.com/items/1', 'https://example.com/c?x=1']],
    ['other host ignored', 'POST', 200, { location: 'https://evil.example/items/1' }, ['https://example.com/items/1']],
    ['other port ignored', 'POST', 200, { location: 'https://example.com:8443/x' }, ['https://example.com/items/1']],
    ['non-http scheme ignored', 'POST', 200, { location: 'mailto:a@example.com' }, ['https://example.com/items/1']],
    ['same URI once', 'POST', 200, { location: '/items/1' }, ['https://example.com/items/1']],
  ])('%s', (_name, method, status, headers, keys) => {
    expect(invalidationKeys(req(method), status, headers)).toEqual(keys);
  });

  test.each([['GET', true], ['HEAD', true], ['OPTIONS', true], ['TRACE', true], ['POST', false], ['PATCH', false]])('isSafeMethod(%s) = %s', (m, safe) => {
    expect(isSafeMethod(m as string)).toBe(safe);
  });
});
