import { describe, expect, test } from 'vitest';
import { applyRange, withoutContentFields } from '../../src/cache/ranged-response.js';

const NOW = Date.UTC(2030, 0, 1);
const body = Buffer.from('0123456789');
const headers = { 'content-type': 'text/plain', 'content-length': '10', etag: '"e"' };

describe('applyRange (RFC 9110 §14.2)', () => {
  test.each<[Record<string, string>, number | undefined, string | undefined, string | undefined]>([
    // request fields, status (undefined: whole body), body, Content-Range
    [{}, undefined, undefined, undefined],
    [{ range: 'bytes=0-1' }, 206, '01', 'bytes 0-1/10'],
    [{ range: 'bytes=7-' }, 206, '789', 'bytes 7-9/10'],
    [{ range: 'bytes=-2' }, 206, '89', 'bytes 8-9/10'],
    [{ range: 'bytes=5-100' }, 206, '56789', 'bytes 5-9/10'],
    [{ range: 'bytes=10-' }, 416, undefined, 'bytes */10'],
    [{ range: 'bytes=0-1,4-5' }, undefined, undefined, undefined],
    [{ range: 'items=0-1' }, undefined, undefined, undefined],
    [{ range: 'bytes=0-1', 'if-range': '"e"' }, 206, '01', 'bytes 0-1/10'],
    [{ range: 'bytes=0-1', 'if-range': '"other"' }, undefined, undefined, undefined],
  ])('%j', (req, status, text, cr) => {
    const r = applyRange(body, headers, req, { etag: '"e"', lastModified: undefined }, NOW);
    expect(r?.status).toBe(status);
    expect(r?.body?.toString()).toBe(text);
    expect(r?.headers['content-range']).toBe(cr);
    if (r?.status === 206) expect(r.headers['content-length']).toBe(String(text?.length));
  });
});

test('withoutContentFields keeps what a 304 needs', () => {
  expect(withoutContentFields({ 'content-type': 'a', 'content-length': '1', 'content-location': '/x', etag: '"e"', 'cache-control': 'max-age=1', vary: 'x' }))
    .toEqual({ 'content-location': '/x', etag: '"e"', 'cache-control': 'max-age=1', vary: 'x' });
});
