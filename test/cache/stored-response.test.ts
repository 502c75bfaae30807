import { describe, expect, test } from 'vitest';
import { analyseResponse, createStoredResponse, describesStored, freshen, notModifiedHeaders } from '../../src/cache/stored-response.js';

const T = Date.UTC(2030, 0, 1);
const cfg = { heuristicFraction: 0.1, heuristicMax: 86_400_000, storeSetCookie: false };
const LM = new Date(T - 86_400_000).toUTCString();

function stored(headers: Record<string, string>, body = 'hello') {
  const h = { date: new Date(T).toUTCString(), ...headers };
  const timing = { requestTime: T, responseTime: T };
  return createStoredResponse({ primary: 'https://h/a', secondary: undefined, status: 200, headers: h, body: Buffer.from(body), policy: analyseResponse(200, h, timing, cfg), timing, storeSetCookie: false });
}

describe('createStoredResponse', () => {
  test('precomputes what a hit needs', () => {
    // With a valid CDN-Cache-Control, Cache-Control is ignored here (RFC 9213 §2.1).
    const e = stored({ 'cache-control': 'max-age=60, no-store', etag: '"x"', 'last-modified': LM, 'cdn-cache-control': 'max-age=90, stale-while-revalidate=30, must-revalidate', 'transfer-encoding': 'chunked' });
    expect(e).toMatchObject({
      lifetime: 90_000, etag: '"x"', lastModified: T - 86_400_000, date: T, staleWhileRevalidate: 30_000, noStale: true, correctedInitialAge: 0,
      targeted: { 'cdn-cache-control': 'max-age=90, stale-while-revalidate=30, must-revalidate' },
    });
    expect(e.headers['content-length']).toBe('5');
    expect(e.headers).not.toHaveProperty('transfer-encoding');
    expect(e.headers).not.toHaveProperty('cdn-cache-control');
    expect(e.size).toBeGreaterThan(5 + 100);
    expect(notModifiedHeaders(e)).not.toHaveProperty('content-length');
    expect(notModifiedHeaders(e)).toHaveProperty('etag', '"x"');
  });
});

describe('describesStored (RFC 9111 §4.3.4, §4.3.5)', () => {
  const e = stored({ 'cache-control': 'max-age=60', etag: '"x"', 'last-modified': LM });
  const noEtag = stored({ 'cache-control': 'max-age=60', 'last-modified': LM });
  test.each<[string, ReturnType<typeof stored>, Record<string, string>, '304' | 'head', boolean]>([
    ['same entity-tag', e, { etag: '"x"' }, '304', true],
    ['weak form of the same tag', e, { etag: 'W/"x"' }, '304', true],
    ['other entity-tag', e, { etag: '"y"' }, '304', false],
    ['no validators in the 304', e, {}, '304', true],
    ['same Last-Modified', noEtag, { 'last-modified': LM }, '304', true],
    ['other Last-Modified', noEtag, { 'last-modified': new Date(T).toUTCString() }, '304', false],
    ['HEAD with same tag and length', e, { etag: '"x"', 'content-length': '5' }, 'head', true],
    ['HEAD with another length', e, { etag: '"x"', 'content-length': '6' }, 'head', false],
    ['HEAD without the entity-tag', e, { 'content-length': '5' }, 'head', false],
  ])('%s', (_name, entry, received, kind, out) => {
    expect(describesStored(entry, received, kind)).toBe(out);
  });
});

describe('freshen (§4.3.4)', () => {
  test('fields and freshness from the 304; body and key kept; Content-Length not touched', () => {
    const e = stored({ 'cache-control': 'max-age=1', etag: '"x"', 'x-v': 'a', 'surrogate-key': 'k1' });
    const later = T + 10_000;
    const { entry, storable } = freshen(e, { 'cache-control': 'max-age=100', etag: '"x"', 'x-v': 'b', date: new Date(later).toUTCString(), 'content-length': '0' }, { requestTime: later, responseTime: later }, cfg);
    expect(storable).toBe(true);
    expect(entry).toMatchObject({ key: e.key, lifetime: 100_000, responseTime: later, correctedInitialAge: 0, tags: ['k1'] });
    expect(entry.body).toBe(e.body);
    expect(entry.headers).toMatchObject({ 'x-v': 'b', 'content-length': '5', 'cache-control': 'max-age=100' });
    expect(e.headers['x-v']).toBe('a');
  });

  test('a 304 that adds no-store leaves nothing to store; CDN-Cache-Control in it governs', () => {
    const e = stored({ 'cache-control': 'max-age=1', etag: '"x"' });
    expect(freshen(e, { 'cache-control': 'no-store' }, { requestTime: T, responseTime: T }, cfg).storable).toBe(false);
    expect(freshen(e, { 'cdn-cache-control': 'max-age=500' }, { requestTime: T, responseTime: T }, cfg).entry.lifetime).toBe(500_000);
  });
});
