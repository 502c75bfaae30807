// EdgeCache against a real origin (node:http on 127.0.0.1:0, reached with undici), with an
// injected clock for everything time-dependent. Each test asserts what a client would see,
// and how many requests reached the origin.
import { afterEach, describe, expect, test } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AnyedgeError } from '../../src/errors.js';
import { EdgeCache } from '../../src/cache/edge-cache.js';
import { cacheRequest, config, deferred, fixture, read, send, startOrigin, testMetrics, undiciFetch, Clock, type Fixture } from './harness.js';
import { Agent } from 'undici';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** An origin answering `body` with these headers (Date from the test clock unless given). */
function answer(clock: () => Clock, headers: Record<string, string | string[]>, body: (n: number, req: IncomingMessage) => string = (n) => `body ${n}`) {
  return (req: IncomingMessage, res: ServerResponse, n: number): void => {
    const b = body(n, req);
    send(res, 200, { date: clock().date(), 'content-length': String(Buffer.byteLength(b)), ...headers }, b);
  };
}

function setup(headers: Record<string, string | string[]>, cfg = {}, body?: (n: number, req: IncomingMessage) => string): Promise<Fixture> {
  const holder: { f?: Fixture } = {};
  return fixture(answer(() => holder.f!.clock, headers, body), cfg).then((x) => { holder.f = x; return x; });
}

describe('storing and reusing', () => {
  test('a fresh response is stored, then served from memory with Age and Cache-Status', async () => {
    f = await setup({ 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    const miss = await f.get('/a');
    expect(miss).toMatchObject({ status: 200, body: 'body 1', cacheStatus: 'anyedge; fwd=miss; stored', result: 'miss' });
    f.clock.advance(20);
    const hit = await f.get('/a');
    expect(hit).toMatchObject({ status: 200, body: 'body 1', bodyKind: 'buffer', cacheStatus: 'anyedge; hit; ttl=40', result: 'hit' });
    expect(hit.headers['age']).toBe('20');
    expect(hit.headers['content-type']).toBe('text/plain');
    expect(f.origin.count).toBe(1);
  });

  test('each answer gets its own headers object: a caller adding fields does not change the store', async () => {
    f = await setup({ 'cache-control': 'max-age=60' });
    await f.get('/a');
    const first = await f.cache.handle(cacheRequest('/a'), f.fetch);
    first.headers['x-request-id'] = 'one';
    first.headers['via'] = 'changed';
    const second = await read(await f.cache.handle(cacheRequest('/a'), f.fetch));
    expect(second.headers['x-request-id']).toBeUndefined();
    expect(second.headers['via']).toBeUndefined();
  });

  test('serve() answers a hit in the same turn, goes to the origin in a promise, and never throws', async () => {
    f = await setup({ 'cache-control': 'max-age=60' });
    const miss = f.cache.serve(cacheRequest('/s'), f.fetch);
    expect(miss).toBeInstanceOf(Promise);
    expect(await read(await miss)).toMatchObject({ status: 200, body: 'body 1', result: 'miss' });
    const hit = f.cache.serve(cacheRequest('/s'), f.fetch);
    expect(hit).not.toBeInstanceOf(Promise);
    expect(await read(hit as Awaited<typeof hit>)).toMatchObject({ status: 200, body: 'body 1', result: 'hit' });
    // A refusal is a rejected promise, as from handle(): the caller has one error path.
    const refused = f.cache.serve(cacheRequest('/not-stored', { 'cache-control': 'only-if-cached' }), f.fetch);
    await expect(refused).rejects.toMatchObject({ code: 'AE_ONLY_IF_CACHED' });
    expect(f.origin.count).toBe(1);
  });

  test('Age adds the Age the origin sent to the time spent here (RFC 9111 §4.2.3)', async () => {
    f = await setup({ 'cache-control': 'max-age=600', age: '30' });
    await f.get('/a');
    f.clock.advance(10);
    const hit = await f.get('/a');
    expect(hit.headers['age']).toBe('40');
    expect(hit.cacheStatus).toBe('anyedge; hit; ttl=560');
  });

  test('a response whose Age exceeds max-age is not reused', async () => {
    f = await setup({ 'cache-control': 'max-age=10', age: '15' });
    await f.get('/a');
    await f.get('/a');
    expect(f.origin.count).toBe(2);
  });

  test('different query strings are different objects; the same one is shared', async () => {
    f = await setup({ 'cache-control': 'max-age=60' });
    expect((await f.get('/q?a=1')).body).toBe('body 1');
    expect((await f.get('/q?a=2')).body).toBe('body 2');
    expect((await f.get('/q?a=1')).body).toBe('body 1');
    expect(f.origin.count).toBe(2);
  });

  test('HEAD is answered from a stored GET, with its Content-Length and no body', async () => {
    f = await setup({ 'cache-control': 'max-age=60' });
    await f.get('/a');
    const head = await f.get('/a', {}, 'HEAD');
    expect(head).toMatchObject({ status: 200, bodyKind: 'none', result: 'hit' });
    expect(head.headers['content-length']).toBe('6');
    expect(f.origin.count).toBe(1);
  });

  test('heuristic freshness from Last-Modified for a 200, never for a 201 (RFC 9111 §4.2.2)', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res) => {
      const c = holder.f!.clock;
      send(res, req.url === '/created' ? 201 : 200, { date: c.date(), 'last-modified': c.date(-10 * 86400) }, 'x');
    }, { heuristicFraction: 0.1, heuristicMax: 3600_000 });
    holder.f = f;
    await f.get('/ok');
    f.clock.advance(3000); // < 3600 s: heuristicMax bounds the 1-day heuristic
    expect((await f.get('/ok')).result).toBe('hit');
    f.clock.advance(700); // > 3600 s: stale, revalidated with If-Modified-Since
    await f.get('/ok');
    const lastModified = new Date(f.clock.t - 3700_000 - 10 * 86400_000).toUTCString(); // as sent with the first response
    expect(f.origin.seen[1]?.headers['if-modified-since']).toBe(lastModified);
    await f.get('/created');
    await f.get('/created');
    expect(f.origin.seen.filter((s) => s.url === '/created')).toHaveLength(2);
  });

  test('responses that may not be stored are forwarded every time', async () => {
    const cases: [string, Record<string, string>, Record<string, string>?][] = [
      ['no-store', { 'cache-control': 'max-age=60, no-store' }],
      ['private', { 'cache-control': 'private, max-age=60' }],
      ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' }],
      ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }],
      ['Authorization without public', { 'cache-control': 'max-age=60' }, { authorization: 'Basic eDp5' }],
      ['request no-store', { 'cache-control': 'max-age=60' }, { 'cache-control': 'no-store' }],
    ];
    for (const [name, responseHeaders, requestHeaders = {}] of cases) {
      f = await setup(responseHeaders);
      const first = await f.get('/a', requestHeaders);
      expect(first.cacheStatus, name).toMatch(/^anyedge; fwd=miss; detail=/);
      await f.get('/a', requestHeaders);
      expect(f.origin.count, name).toBe(2);
      await f.close();
      f = undefined;
    }
  });

  test('Set-Cookie responses are stored when configured, cookie included', async () => {
    f = await setup({ 'cache-control': 'max-age=60', 'set-cookie': 'a=b' }, { storeSetCookie: true });
    await f.get('/a');
    const hit = await f.get('/a');
    expect(hit.result).toBe('hit');
    expect([hit.headers['set-cookie']].flat()).toEqual(['a=b']);
  });

  test('a request with Authorization may use and fill the cache only with public / s-maxage / must-revalidate', async () => {
    f = await setup({ 'cache-control': 'public, max-age=60' });
    await f.get('/a', { authorization: 'Bearer x' });
    expect((await f.get('/a')).result).toBe('hit');
    expect((await f.get('/a', { authorization: 'Bearer y' })).result).toBe('hit');
    expect(f.origin.seen[0]?.headers['authorization']).toBe('Bearer x');
  });

  test('connection-specific fields and fields named by no-cache="…" / private="…" are not stored', async () => {
    f = await setup({ 'cache-control': 'max-age=60, no-cache="x-a", private="x-b"', 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    const miss = await f.get('/a');
    expect(miss.headers).toMatchObject({ 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    const hit = await f.get('/a');
    expect(hit.result).toBe('hit');
    expect(hit.headers['x-c']).toBe('3');
    expect(hit.headers['x-a']).toBeUndefined();
    expect(hit.headers['x-b']).toBeUndefined();
  });

  test('Date is the origin\'s, never rewritten; one is added when the origin sent none', async () => {
    f = await setup({ 'cache-control': 'max-age=600' });
    const miss = await f.get('/a');
    f.clock.advance(100);
    expect((await f.get('/a')).headers['date']).toBe(miss.headers['date']);
    f.origin.handler = (_req, res) => {
      res.sendDate = false;
      send(res, 200, { 'cache-control': 'max-age=600', 'content-length': '1' }, 'x');
    };
    const noDate = await f.get('/b');
    expect(noDate.headers['date']).toBe(new Date(f.clock.t).toUTCString());
  });
});

describe('targeted cache control (RFC 9213) and Surrogate-Control', () => {
  test('CDN-Cache-Control governs here over Cache-Control, and never reaches the client', async () => {
    f = await setup({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' });
    const miss = await f.get('/a');
    expect(miss.headers['cdn-cache-control']).toBeUndefined();
    expect(miss.headers['cache-control']).toBe('no-store');
    const hit = await f.get('/a');
    expect(hit.result).toBe('hit');
    expect(hit.headers['cdn-cache-control']).toBeUndefined();
    expect(f.origin.count).toBe(1);
  });

  test('a short CDN-Cache-Control max-age wins over a long Cache-Control one', async () => {
    f = await setup({ 'cache-control': 'max-age=3600', 'cdn-cache-control': 'max-age=5' });
    await f.get('/a');
    f.clock.advance(10);
    await f.get('/a');
    expect(f.origin.count).toBe(2);
  });

  test('an invalid CDN-Cache-Control is ignored: Cache-Control applies', async () => {
    f = await setup({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60, &&&' });
    await f.get('/a');
    await f.get('/a');
    expect(f.origin.count).toBe(2);
  });

  test('Surrogate-Control max-age and no-store are honoured, and removed', async () => {
    f = await setup({ 'cache-control': 'max-age=1', 'surrogate-control': 'max-age=3600' });
    const miss = await f.get('/a');
    expect(miss.headers['surrogate-control']).toBeUndefined();
    f.clock.advance(60);
    expect((await f.get('/a')).result).toBe('hit');
    await f.close();
    f = await setup({ 'cache-control': 'max-age=3600', 'surrogate-control': 'no-store' });
    await f.get('/a');
    await f.get('/a');
    expect(f.origin.count).toBe(2);
  });
});

describe('validation', () => {
  test('a stale response is revalidated with its validators; a 304 updates the stored fields (§4.3.4)', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res, n) => {
      const c = holder.f!.clock;
      if (n === 1) return send(res, 200, { date: c.date(), 'cache-control': 'max-age=10', etag: '"v1"', 'last-modified': c.date(-3600), 'x-version': 'a', 'content-length': '2' }, 'v1');
      return send(res, 304, { date: c.date(), 'cache-control': 'max-age=100', etag: '"v1"', 'x-version': 'b' });
    });
    holder.f = f;
    await f.get('/a');
    f.clock.advance(11);
    const revalidated = await f.get('/a');
    expect(revalidated).toMatchObject({ status: 200, body: 'v1', result: 'revalidated', cacheStatus: 'anyedge; fwd=stale; fwd-status=304; stored; ttl=100' });
    expect(revalidated.headers['x-version']).toBe('b');
    expect(revalidated.headers['age']).toBe('0');
    expect(f.origin.seen[1]?.headers).toMatchObject({ 'if-none-match': '"v1"', 'if-modified-since': new Date(f.clock.t - 11_000 - 3600_000).toUTCString() });
    f.clock.advance(50);
    const hit = await f.get('/a');
    expect(hit).toMatchObject({ result: 'hit', body: 'v1' });
    expect(hit.headers['x-version']).toBe('b');
    expect(hit.headers['cache-control']).toBe('max-age=100');
    expect(f.origin.count).toBe(2);
  });

  test('a changed representation (200) replaces the stored one', async () => {
    f = await setup({ 'cache-control': 'max-age=10', etag: '"v"' });
    await f.get('/a');
    f.clock.advance(11);
    expect((await f.get('/a')).body).toBe('body 2');
    expect((await f.get('/a')).body).toBe('body 2');
    expect(f.origin.count).toBe(2);
  });

  test('no-cache responses are stored but validated before every use', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res, n) => {
      if (n === 1) return send(res, 200, { date: holder.f!.clock.date(), 'cache-control': 'no-cache', etag: '"e"', 'content-length': '1' }, 'x');
      return send(res, 304, { etag: '"e"' });
    });
    holder.f = f;
    await f.get('/a');
    const second = await f.get('/a');
    expect(second).toMatchObject({ body: 'x', result: 'revalidated' });
    expect(f.origin.seen[1]?.headers['if-none-match']).toBe('"e"');
  });

  test('the client\'s own conditional requests are answered 304 from storage', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((_req, res) => {
      const c = holder.f!.clock;
      send(res, 200, { date: c.date(), 'cache-control': 'max-age=60', etag: '"abc"', 'last-modified': c.date(-100), 'content-type': 'text/plain', 'content-length': '5' }, 'hello');
    });
    holder.f = f;
    await f.get('/a');
    const inm = await f.get('/a', { 'if-none-match': 'W/"x", "abc"' });
    expect(inm).toMatchObject({ status: 304, bodyKind: 'none', result: 'hit' });
    expect(inm.headers['etag']).toBe('"abc"');
    expect(inm.headers['age']).toBe('0');
    expect(inm.headers['content-type']).toBeUndefined();
    expect((await f.get('/a', { 'if-modified-since': f.clock.date(-50) })).status).toBe(304);
    expect((await f.get('/a', { 'if-modified-since': f.clock.date(-200) })).status).toBe(200);
    expect((await f.get('/a', { 'if-none-match': '"other"' })).status).toBe(200);
    expect((await f.get('/a', { 'if-match': '"other"' })).status).toBe(412);
    expect(f.origin.count).toBe(1);
  });

  test('a conditional request that misses: the origin gets no conditional, the client still gets its 304', async () => {
    f = await setup({ 'cache-control': 'max-age=60', etag: '"abc"' });
    const r = await f.get('/a', { 'if-none-match': '"abc"' });
    expect(r.status).toBe(304);
    expect(f.origin.seen[0]?.headers['if-none-match']).toBeUndefined();
    await f.cache.settled();
    expect((await f.get('/a')).result).toBe('hit');
  });

  test('must-revalidate: a stale response is validated, never served stale on error', async () => {
    f = await setup({ 'cache-control': 'max-age=1, must-revalidate, stale-if-error=600', etag: '"a"' }, { staleIfError: 600_000 });
    await f.get('/a');
    f.clock.advance(5);
    f.origin.handler = (_req, res) => send(res, 503, { 'content-length': '4' }, 'down');
    const r = await f.get('/a');
    expect(r).toMatchObject({ status: 503, body: 'down' });
  });
});

describe('HEAD', () => {
  test('a HEAD miss is forwarded as HEAD and stores nothing', async () => {
    f = await setup({ 'cache-control': 'max-age=60' });
    const head = await f.get('/h', {}, 'HEAD');
    expect(head).toMatchObject({ status: 200, bodyKind: 'none', result: 'miss' });
    expect(f.origin.seen[0]?.method).toBe('HEAD');
    expect(f.cache.stats().objects).toBe(0);
  });

  test('a HEAD for a stale stored GET is written through and freshens it when it describes it (§4.3.5)', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res) => {
      const c = holder.f!.clock;
      if (req.method === 'HEAD') return send(res, 200, { date: c.date(), 'cache-control': 'max-age=600', etag: '"h"', 'x-v': '2', 'content-length': '4' });
      send(res, 200, { date: c.date(), 'cache-control': 'max-age=10', etag: '"h"', 'x-v': '1', 'content-length': '4' }, 'body');
    });
    holder.f = f;
    await f.get('/h');
    f.clock.advance(20);
    const head = await f.get('/h', {}, 'HEAD');
    expect(head).toMatchObject({ status: 200, bodyKind: 'none', cacheStatus: 'anyedge; fwd=stale; fwd-status=200' });
    expect(head.headers['x-v']).toBe('2');
    const get = await f.get('/h');
    expect(get).toMatchObject({ result: 'hit', body: 'body' });
    expect(get.headers['x-v']).toBe('2');
    expect(f.origin.seen.map((s) => s.method)).toEqual(['GET', 'HEAD']);
  });

  test('a HEAD response describing another representation marks the stored one stale', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res, n) => {
      const c = holder.f!.clock;
      if (req.method === 'HEAD') return send(res, 200, { date: c.date(), 'cache-control': 'max-age=600', etag: '"new"', 'content-length': '4' });
      send(res, 200, { date: c.date(), 'cache-control': 'max-age=10', etag: '"old"', 'content-length': '4' }, `get${n}`);
    });
    holder.f = f;
    await f.get('/h');
    f.clock.advance(20);
    await f.get('/h', {}, 'HEAD');
    expect((await f.get('/h')).body).toBe('get3');
  });
});

describe('request directives', () => {
  test('max-age, min-fresh, no-cache send the request on; max-stale accepts stale; only-if-cached → 504', async () => {
    f = await setup({ 'cache-control': 'max-age=100', etag: '"e"' });
    await f.get('/a');
    f.clock.advance(50);
    expect((await f.get('/a', { 'cache-control': 'max-age=60' })).result).toBe('hit');
    expect((await f.get('/a', { 'cache-control': 'max-age=10' })).cacheStatus).toMatch(/^anyedge; fwd=request; fwd-status=200/);
    expect(f.origin.count).toBe(2);
    expect((await f.get('/a', { 'cache-control': 'min-fresh=60' })).result).toBe('hit');
    expect((await f.get('/a', { 'cache-control': 'min-fresh=101' })).cacheStatus).toMatch(/fwd=request/);
    expect((await f.get('/a', { 'cache-control': 'no-cache' })).cacheStatus).toMatch(/fwd=request/);
    expect(f.origin.seen[3]?.headers['if-none-match']).toBe('"e"');
    f.clock.advance(150);
    expect((await f.get('/a', { 'cache-control': 'max-stale=100' })).result).toBe('hit');
    expect((await f.get('/a', { 'cache-control': 'max-stale' })).result).toBe('hit');
    const before = f.origin.count;
    const oic = f.get('/other', { 'cache-control': 'only-if-cached' });
    await expect(oic).rejects.toBeInstanceOf(AnyedgeError);
    await expect(oic).rejects.toMatchObject({ code: 'AE_ONLY_IF_CACHED', headers: { 'cache-status': 'anyedge; detail=only-if-cached' } });
    expect(f.origin.count).toBe(before);
  });
});

describe('immutable (RFC 8246)', () => {
  test('a client reload does not go to the origin while an immutable response is fresh', async () => {
    f = await setup({ 'cache-control': 'max-age=600, immutable' });
    await f.get('/i');
    expect((await f.get('/i', { 'cache-control': 'no-cache' })).result).toBe('hit');
    expect((await f.get('/i', { 'cache-control': 'max-age=0' })).result).toBe('hit');
    expect(f.origin.count).toBe(1);
  });
});

describe('Vary', () => {
  test('variants are selected by the Vary fields; fields not in Vary do not matter', async () => {
    f = await setup({ 'cache-control': 'max-age=60', vary: 'Accept-Encoding' }, {}, (n, req) => `${req.headers['accept-encoding'] ?? 'none'} ${n}`);
    expect((await f.get('/v', { 'accept-encoding': 'gzip' })).body).toBe('gzip 1');
    expect((await f.get('/v', { 'accept-encoding': 'br' })).body).toBe('br 2');
    const miss = await f.get('/v');
    expect(miss.body).toBe('none 3');
    expect(miss.cacheStatus).toBe('anyedge; fwd=vary-miss; stored');
    expect((await f.get('/v', { 'accept-encoding': 'gzip', 'user-agent': 'other' })).body).toBe('gzip 1');
    expect((await f.get('/v', { 'accept-encoding': 'br' })).body).toBe('br 2');
    expect((await f.get('/v')).body).toBe('none 3');
    expect(f.origin.count).toBe(3);
    expect(f.cache.stats().objects).toBe(3);
  });

  test('whitespace and line splitting of a Vary field value do not make a new variant', async () => {
    f = await setup({ 'cache-control': 'max-age=60', vary: 'foo' });
    await f.get('/v', { foo: '1, 2' });
    expect((await f.get('/v', { foo: ['1', '2'] })).result).toBe('hit');
    expect((await f.get('/v', { foo: ' 1,2 ' })).result).toBe('hit');
  });
});

describe('ranges', () => {
  test('single ranges are served from a stored full response: 206, 416, and the whole body for several ranges', async () => {
    f = await setup({ 'cache-control': 'max-age=60', etag: '"r"' }, {}, () => '0123456789');
    await f.get('/r');
    const part = await f.get('/r', { range: 'bytes=2-4' });
    expect(part).toMatchObject({ status: 206, body: '234', result: 'hit' });
    expect(part.headers).toMatchObject({ 'content-range': 'bytes 2-4/10', 'content-length': '3' });
    expect((await f.get('/r', { range: 'bytes=-3' })).body).toBe('789');
    const none = await f.get('/r', { range: 'bytes=20-' });
    expect(none.status).toBe(416);
    expect(none.headers['content-range']).toBe('bytes */10');
    expect((await f.get('/r', { range: 'bytes=0-1,5-6' })).status).toBe(200);
    expect((await f.get('/r', { range: 'bytes=0-1', 'if-range': '"other"' })).status).toBe(200);
    expect((await f.get('/r', { range: 'bytes=0-1', 'if-range': '"r"' })).status).toBe(206);
    expect(f.origin.count).toBe(1);
  });

  test('a range request that misses fetches the whole object once, stores it, and answers the range', async () => {
    f = await setup({ 'cache-control': 'max-age=60' }, {}, () => 'abcdefghij');
    const r = await f.get('/r', { range: 'bytes=0-2' });
    expect(r).toMatchObject({ status: 206, body: 'abc' });
    expect(f.origin.seen[0]?.headers['range']).toBeUndefined();
    expect((await f.get('/r')).body).toBe('abcdefghij');
    expect(f.origin.count).toBe(1);
  });

  test('a range of a response that may not be stored: small ones are cut here, large ones asked for as a range', async () => {
    const big = 'b'.repeat(100_000);
    f = await fixture((req, res) => {
      const range = req.headers['range'];
      if (range !== undefined) return send(res, 206, { 'content-range': 'bytes 0-1/100000', 'content-length': '2' }, 'bb');
      const body = req.url === '/small' ? 'abcdef' : big;
      send(res, 200, { 'cache-control': 'private', 'content-length': String(body.length) }, body);
    });
    expect(await f.get('/small', { range: 'bytes=1-2' })).toMatchObject({ status: 206, body: 'bc' });
    expect(await f.get('/large', { range: 'bytes=0-1' })).toMatchObject({ status: 206, body: 'bb' });
    expect(f.origin.seen.map((s) => `${s.url} ${String(s.headers['range'])}`)).toEqual(['/small undefined', '/large undefined', '/large bytes=0-1']);
  });

  test('a range of an object too large to store is forwarded to the origin as a range', async () => {
    const big = 'x'.repeat(5000);
    f = await fixture((req, res) => {
      const range = req.headers['range'];
      if (range === 'bytes=0-9') return send(res, 206, { 'content-range': 'bytes 0-9/5000', 'content-length': '10' }, big.slice(0, 10));
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '5000' }, big);
    }, { maxObjectSize: 1000 });
    const r = await f.get('/big', { range: 'bytes=0-9' });
    expect(r).toMatchObject({ status: 206, body: 'xxxxxxxxxx' });
    expect(f.origin.seen.map((s) => s.headers['range'])).toEqual([undefined, 'bytes=0-9']);
  });
});

describe('coalescing', () => {
  test('50 concurrent misses for one key make exactly one origin request, and all get the response', async () => {
    const release = deferred();
    const arrived = deferred();
    f = await fixture(async (_req, res, n) => {
      arrived.resolve();
      await release.promise;
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '6' }, `resp ${n}`);
    });
    const all = Array.from({ length: 50 }, () => f!.get('/hot'));
    await arrived.promise;
    release.resolve();
    const seen = await Promise.all(all);
    expect(f.origin.count).toBe(1);
    expect(new Set(seen.map((s) => s.body))).toEqual(new Set(['resp 1']));
    expect(seen.filter((s) => s.result === 'coalesced')).toHaveLength(49);
    expect(seen.filter((s) => s.cacheStatus === 'anyedge; fwd=miss; collapsed; ttl=60')).toHaveLength(49);
    expect((await f.metrics.cacheCoalesced.get()).values[0]?.value).toBe(49);
  });

  test('a large body streams to the first client while stored; waiters get the complete object', async () => {
    const release = deferred();
    const arrived = deferred();
    const chunk = 'y'.repeat(16 * 1024);
    f = await fixture(async (_req, res) => {
      arrived.resolve();
      await release.promise;
      res.writeHead(200, { 'cache-control': 'max-age=60' }); // chunked: length unknown
      for (let i = 0; i < 20; i++) res.write(chunk);
      res.end();
    });
    const all = Array.from({ length: 5 }, () => f!.get('/big'));
    await arrived.promise;
    release.resolve();
    const seen = await Promise.all(all);
    expect(f.origin.count).toBe(1);
    expect(seen[0]?.bodyKind).toBe('stream');
    expect(seen.slice(1).map((s) => s.bodyKind)).toEqual(['buffer', 'buffer', 'buffer', 'buffer']);
    for (const s of seen) expect(s.body).toHaveLength(20 * chunk.length);
    const hit = await f.get('/big');
    expect(hit).toMatchObject({ result: 'hit', bodyKind: 'buffer' });
    expect(hit.headers['content-length']).toBe(String(20 * chunk.length));
  });

  test('a failed fetch releases the lock: waiters compete again and the key is not wedged', async () => {
    const release = deferred();
    const arrived = deferred();
    f = await fixture(async (_req, res, n) => {
      if (n === 1) {
        arrived.resolve();
        await release.promise;
        res.socket?.destroy(); // connection reset
        return;
      }
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '2' }, 'ok');
    });
    const first = f.get('/k');
    const waiters = Array.from({ length: 10 }, () => f!.get('/k'));
    await arrived.promise;
    release.resolve();
    await expect(first).rejects.toMatchObject({ source: 'upstream' });
    const seen = await Promise.all(waiters);
    expect(seen.map((s) => s.body)).toEqual(Array(10).fill('ok'));
    expect(f.origin.count).toBe(2);
    expect((await f.get('/k')).result).toBe('hit');
  });

  test('a request that cannot share its response (no-store, Authorization) does not hold others up', async () => {
    const release = deferred();
    const arrived = deferred();
    f = await fixture(async (req, res, n) => {
      if (req.headers['authorization'] !== undefined) {
        arrived.resolve();
        await release.promise;
      }
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '2' }, `r${n}`);
    });
    const private1 = f.get('/p', { authorization: 'Bearer a' });
    await arrived.promise;
    const other = await f.get('/p'); // not queued behind the authorised request
    expect(other.body).toBe('r2');
    release.resolve();
    expect((await private1).body).toBe('r1');
  });

  test('a request after a failed fetch goes to the origin again', async () => {
    f = await fixture((_req, res, n) => {
      if (n === 1) { res.socket?.destroy(); return; }
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '2' }, 'ok');
    });
    await expect(f.get('/k')).rejects.toBeInstanceOf(AnyedgeError);
    expect((await f.get('/k')).body).toBe('ok');
    expect(f.origin.count).toBe(2);
  });

  test('after the lock timeout a waiter fetches for itself', async () => {
    const release = deferred();
    const arrived = deferred();
    f = await fixture(async (_req, res, n) => {
      if (n === 1) {
        arrived.resolve();
        await release.promise;
      }
      send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '3' }, `r${n}`.padEnd(3, '.'));
    }, { lockTimeout: 50 });
    const first = f.get('/slow');
    await arrived.promise;
    const second = await f.get('/slow'); // waits 50 ms for the held request, then fetches itself
    expect(second.body).toBe('r2.');
    expect(f.origin.count).toBe(2);
    release.resolve();
    expect((await first).body).toBe('r1.');
  });

  test('objects larger than maxObjectSize stream without being stored; waiters fetch for themselves', async () => {
    const release = deferred();
    const arrived = deferred();
    const body = 'z'.repeat(4000);
    f = await fixture(async (_req, res, n) => {
      if (n === 1) {
        arrived.resolve();
        await release.promise;
      }
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end(body);
    }, { maxObjectSize: 1000 });
    const all = Array.from({ length: 3 }, () => f!.get('/huge'));
    await arrived.promise;
    release.resolve();
    const seen = await Promise.all(all);
    for (const s of seen) expect(s.body).toBe(body);
    expect(f.origin.count).toBe(3);
    expect(f.cache.stats().objects).toBe(0);
    await f.get('/huge');
    expect(f.origin.count).toBe(4);
  });
});

describe('serving stale', () => {
  test('stale-while-revalidate: stale answers at once, and exactly one background refresh', async () => {
    const refresh = deferred();
    const holder: { f?: Fixture } = {};
    f = await fixture(async (_req, res, n) => {
      if (n === 2) await refresh.promise;
      send(res, 200, { date: holder.f!.clock.date(), 'cache-control': 'max-age=10, stale-while-revalidate=60', 'content-length': '2' }, `v${n}`);
    });
    holder.f = f;
    await f.get('/s');
    f.clock.advance(15);
    const seen = await Promise.all(Array.from({ length: 20 }, () => f!.get('/s')));
    for (const s of seen) {
      expect(s).toMatchObject({ body: 'v1', result: 'stale', cacheStatus: 'anyedge; hit; ttl=-5; detail=stale-while-revalidate' });
      expect(s.headers['age']).toBe('15');
    }
    refresh.resolve();
    await f.cache.settled();
    expect(f.origin.count).toBe(2);
    expect(await f.get('/s')).toMatchObject({ body: 'v2', result: 'hit' });
  });

  test('beyond the stale-while-revalidate window the request waits for the origin', async () => {
    f = await setup({ 'cache-control': 'max-age=10, stale-while-revalidate=5' });
    await f.get('/s');
    f.clock.advance(20);
    expect(await f.get('/s')).toMatchObject({ body: 'body 2', result: 'miss' });
  });

  test('stale-if-error: a 5xx, a reset or a timeout is answered with the stale response within the window', async () => {
    f = await setup({ 'cache-control': 'max-age=10, stale-if-error=60', etag: '"e"' });
    await f.get('/e');
    f.clock.advance(30);
    f.origin.handler = (_req, res) => send(res, 503, { 'content-length': '4' }, 'down');
    expect(await f.get('/e')).toMatchObject({ status: 200, body: 'body 1', result: 'stale', cacheStatus: 'anyedge; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error' });
    f.origin.handler = (_req, res) => { res.socket?.destroy(); };
    expect(await f.get('/e')).toMatchObject({ status: 200, body: 'body 1', cacheStatus: 'anyedge; fwd=stale; ttl=-20; detail=stale-if-error' });
    const timeout = async () => { throw new AnyedgeError('UPSTREAM_TIMEOUT', 'origin sent no response headers in time'); };
    expect(await read(await f.cache.handle(cacheRequest('/e'), timeout))).toMatchObject({ status: 200, body: 'body 1', result: 'stale' });
    f.clock.advance(60); // 80 s stale: beyond the 60 s window
    f.origin.handler = (_req, res) => send(res, 503, { 'content-length': '4' }, 'down');
    expect(await f.get('/e')).toMatchObject({ status: 503, body: 'down' });
  });

  test('cache.staleIfError is the window when the origin says nothing', async () => {
    f = await setup({ 'cache-control': 'max-age=10' }, { staleIfError: 60_000 });
    await f.get('/e');
    f.clock.advance(40);
    f.origin.handler = (_req, res) => send(res, 500, { 'content-length': '1' }, 'x');
    expect((await f.get('/e')).body).toBe('body 1');
    f.clock.advance(40);
    expect((await f.get('/e')).status).toBe(500);
  });

  test('without a window an origin failure is the client\'s error', async () => {
    f = await setup({ 'cache-control': 'max-age=10' });
    await f.get('/e');
    f.clock.advance(20);
    f.origin.handler = (_req, res) => { res.socket?.destroy(); };
    await expect(f.get('/e')).rejects.toMatchObject({ source: 'upstream' });
  });
});

describe('no poisoning through unkeyed headers', () => {
  test('X-Forwarded-Host and friends never reach the origin for a cacheable request, so cannot change what is stored', async () => {
    f = await setup({ 'cache-control': 'max-age=60' }, {}, (n, req) => `<script src="//${String(req.headers['x-forwarded-host'] ?? 'example.com')}/app.js"> ${n}`);
    const attack = await f.get('/page', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', forwarded: 'host=evil.example', 'x-original-url': '/admin' });
    expect(attack.body).toBe('<script src="//example.com/app.js"> 1');
    expect(f.origin.seen[0]?.headers).not.toHaveProperty('x-forwarded-host');
    expect(f.origin.seen[0]?.headers).not.toHaveProperty('x-original-url');
    const victim = await f.get('/page');
    expect(victim).toMatchObject({ result: 'hit', body: '<script src="//example.com/app.js"> 1' });
  });

  test('the Host is part of the key; a default port and case are not', async () => {
    f = await setup({ 'cache-control': 'max-age=60' }, {}, (n, req) => `${String(req.headers['x-host-seen'] ?? '')}${n}`);
    const req = (host: string) => f!.cache.handle({ method: 'GET', scheme: 'https', host, target: '/h', headers: { host } }, f!.fetch).then(read);
    expect((await req('example.com')).body).toBe('1');
    expect((await req('EXAMPLE.com:443')).result).toBe('hit');
    expect((await req('other.example')).body).toBe('2');
    expect((await req('example.com:8443')).body).toBe('3');
  });
});

describe('invalidation after unsafe methods (RFC 9111 §4.4)', () => {
  test('a successful POST invalidates its URL and same-host Location / Content-Location, not another host', async () => {
    f = await fixture((req, res) => {
      if (req.method === 'POST') {
        return send(res, 201, { location: '/items/2', 'content-location': 'https://other.example/x', 'content-length': '0' });
      }
      send(res, 200, { 'cache-control': 'max-age=600', 'content-length': '1' }, 'x');
    });
    for (const t of ['/items', '/items/2']) await f.get(t);
    await f.cache.handle({ method: 'GET', scheme: 'https', host: 'other.example', target: '/x', headers: {} }, f.fetch).then(read);
    expect(f.cache.stats().objects).toBe(3);
    const post = await f.get('/items', { 'content-type': 'text/plain' }, 'POST');
    expect(post).toMatchObject({ status: 201, result: 'bypass', cacheStatus: 'anyedge; fwd=method' });
    expect(f.cache.stats().objects).toBe(1);
    expect((await f.get('/items')).result).toBe('miss');
    expect((await f.get('/items/2')).result).toBe('miss');
  });

  test('a failed unsafe request invalidates nothing; invalidateAfterUnsafe is callable directly', async () => {
    f = await setup({ 'cache-control': 'max-age=600' });
    await f.get('/a');
    expect(f.cache.invalidateAfterUnsafe({ method: 'DELETE', scheme: 'https', host: 'example.com', target: '/a' }, 500, {})).toBe(0);
    expect((await f.get('/a')).result).toBe('hit');
    expect(f.cache.invalidateAfterUnsafe({ method: 'PUT', scheme: 'https', host: 'example.com', target: '/a' }, 204, {})).toBe(1);
    expect((await f.get('/a')).result).toBe('miss');
  });
});

describe('purge', () => {
  test('by URL (every variant), by prefix, by surrogate key, everything; the answer counts objects', async () => {
    f = await fixture((req, res) => {
      const tags = req.url?.startsWith('/img/') ? { 'surrogate-key': 'images all', 'cache-tag': 'shop' } : { 'cache-tag': 'pages, shop' };
      send(res, 200, { 'cache-control': 'max-age=600', vary: 'accept', 'content-length': '1', ...tags }, 'x');
    });
    for (const accept of ['a', 'b']) await f.get('/page', { accept });
    for (const t of ['/img/1', '/img/2', '/img/3', '/about']) await f.get(t);
    expect(f.cache.stats().objects).toBe(6);
    const served = await f.get('/img/1');
    expect(served.headers['surrogate-key']).toBeUndefined();
    expect(served.headers['cache-tag']).toBeUndefined();

    expect(f.cache.purgeUrl('https', 'example.com', '/page')).toBe(2);
    expect(f.cache.purgePrefix('https://example.com/img/')).toBe(3);
    expect(f.cache.stats().objects).toBe(1);
    for (const t of ['/img/1', '/img/2']) await f.get(t);
    expect(f.cache.purgeTag('images')).toBe(2);
    expect(f.cache.purgeTag('shop')).toBe(1);
    await f.get('/about');
    await f.get('/img/3');
    expect(f.cache.purge('url', 'https://example.com/about', false)).toBe(1);
    expect(f.cache.purgeAll()).toBe(1);
    expect(f.cache.stats()).toEqual({ objects: 0, bytes: 0 });
    expect(() => f!.cache.purgePrefix('example.com/x')).toThrow(AnyedgeError);
  });

  test('a purge while the object is being fetched keeps that fetch from storing it', async () => {
    const release = deferred();
    const arrived = deferred();
    f = await fixture(async (_req, res, n) => {
      if (n === 1) {
        arrived.resolve();
        await release.promise;
      }
      send(res, 200, { 'cache-control': 'max-age=600', 'cache-tag': 't', 'content-length': '2' }, `v${n}`);
    });
    const inFlight = f.get('/p');
    await arrived.promise;
    expect(f.cache.purgeTag('t')).toBe(0);
    release.resolve();
    expect((await inFlight).body).toBe('v1'); // that client still gets its answer
    expect(await f.get('/p')).toMatchObject({ body: 'v2', result: 'miss' });
    expect((await f.get('/p')).result).toBe('hit');
  });

  test('soft purge marks objects stale: the next request revalidates, and stale-if-error still applies', async () => {
    const holder: { f?: Fixture } = {};
    f = await fixture((req, res, n) => {
      if (n === 1) return send(res, 200, { date: holder.f!.clock.date(), 'cache-control': 'max-age=600', etag: '"s"', 'surrogate-key': 'k', 'content-length': '1' }, 's');
      if (n === 2) return send(res, 304, { etag: '"s"' });
      res.socket?.destroy();
    }, { staleIfError: 60_000 });
    holder.f = f;
    await f.get('/soft');
    expect(f.cache.purgeTag('k', { soft: true })).toBe(1);
    expect(f.cache.stats().objects).toBe(1);
    expect(await f.get('/soft')).toMatchObject({ body: 's', result: 'revalidated' });
    expect(f.origin.seen[1]?.headers['if-none-match']).toBe('"s"');
    expect((await f.get('/soft')).result).toBe('hit');
    expect(f.cache.purgeUrl('https', 'example.com', '/soft', { soft: true })).toBe(1);
    expect(await f.get('/soft')).toMatchObject({ body: 's', result: 'stale' });
  });
});

describe('memory bound', () => {
  test('under churn the store stays within maxSize and evicts least recently used objects', async () => {
    const maxSize = 64 * 1024;
    f = await fixture((req, res) => {
      const size = 500 + (Number(req.url?.slice(1)) % 7) * 700;
      send(res, 200, { 'cache-control': 'max-age=600', 'content-length': String(size) }, 'k'.repeat(size));
    }, { maxSize, maxObjectSize: 16 * 1024 });
    let maxSeen = 0;
    for (let i = 0; i < 400; i++) {
      await f.get(`/${i}`);
      maxSeen = Math.max(maxSeen, f.cache.stats().bytes);
    }
    const { objects, bytes } = f.cache.stats();
    expect(maxSeen).toBeLessThanOrEqual(maxSize);
    expect(bytes).toBeLessThanOrEqual(maxSize);
    expect(objects).toBeGreaterThan(10);
    expect(objects).toBeLessThan(400);
    expect((await f.metrics.cacheEvictions.get()).values[0]?.value).toBe(400 - objects);
    expect((await f.metrics.cacheStoredBytes.get()).values[0]?.value).toBe(bytes);
    expect((await f.get('/399')).result).toBe('hit');
    expect((await f.get('/0')).result).toBe('miss');
  });
});

describe('other methods and settings', () => {
  test('a disabled cache forwards everything', async () => {
    f = await setup({ 'cache-control': 'max-age=60' }, { enabled: false });
    expect((await f.get('/a')).cacheStatus).toBe('anyedge; fwd=bypass');
    await f.get('/a');
    expect(f.origin.count).toBe(2);
  });

  test('metrics count hits, misses, stale and revalidations', async () => {
    f = await setup({ 'cache-control': 'max-age=10, stale-while-revalidate=30', etag: '"m"' });
    await f.get('/m');
    await f.get('/m');
    f.clock.advance(20);
    await f.get('/m');
    await f.cache.settled();
    const values = (await f.metrics.cacheLookups.get()).values;
    const by = (result: string) => values.find((v) => v.labels['result'] === result)?.value;
    expect([by('miss'), by('hit'), by('stale')]).toEqual([1, 1, 1]);
  });

  test('the Cache-Status name comes from the options', async () => {
    const origin = await startOrigin((_req, res) => send(res, 200, { 'cache-control': 'max-age=60', 'content-length': '1' }, 'x'));
    const agent = new Agent();
    const cache = new EdgeCache(config(), { name: 'edge-7', metrics: testMetrics().metrics });
    const r = await cache.handle(cacheRequest('/n'), undiciFetch(origin, agent));
    await read(r);
    expect(r.cacheStatus).toBe('edge-7; fwd=miss; stored');
    await cache.settled();
    await agent.close();
    await origin.close();
  });
});
