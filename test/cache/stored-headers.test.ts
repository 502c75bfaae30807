import { describe, expect, test } from 'vitest';
import { clientHeaders, storedHeaders, updatedHeaders } from '../../src/cache/stored-headers.js';

const NOW = Date.UTC(2030, 0, 1);
const DATE = new Date(NOW - 5000).toUTCString();

describe('storedHeaders (RFC 9111 §3.1)', () => {
  test.each<[string, Record<string, string | string[]>, string[], string[]]>([
    // name, received, kept, dropped
    ['hop-by-hop', { date: DATE, connection: 'close', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', upgrade: 'h2c', te: 'trailers', trailer: 'x', 'proxy-connection': 'x', 'x-ok': '1' }, ['x-ok', 'date'], ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']],
    ['fields listed in Connection', { date: DATE, connection: 'x-a, X-B', 'x-a': '1', 'x-b': '2', 'x-c': '3' }, ['x-c'], ['x-a', 'x-b', 'connection']],
    ['proxy authentication', { date: DATE, 'proxy-authenticate': 'Basic', 'proxy-authentication-info': 'x', 'www-authenticate': 'Basic' }, ['www-authenticate'], ['proxy-authenticate', 'proxy-authentication-info']],
    ['edge-only fields', { date: DATE, 'cdn-cache-control': 'max-age=1', 'surrogate-control': 'max-age=1', 'surrogate-key': 'a', 'cache-tag': 'b', 'cache-control': 'max-age=1' }, ['cache-control'], ['cdn-cache-control', 'surrogate-control', 'surrogate-key', 'cache-tag']],
    ['Age is recomputed per use', { date: DATE, age: '5' }, ['date'], ['age']],
    ['Set-Cookie not stored (the obsolete Set-Cookie2 is an ordinary field)', { date: DATE, 'set-cookie': ['a=b'], 'set-cookie2': 'c=d' }, ['date', 'set-cookie2'], ['set-cookie']],
  ])('%s', (_name, received, kept, dropped) => {
    const out = storedHeaders(received, { omit: [], storeSetCookie: false }, NOW);
    for (const k of kept) expect(out, k).toHaveProperty(k);
    for (const d of dropped) expect(out, d).not.toHaveProperty(d);
  });

  test('no-cache="…" / private="…" fields are omitted; Set-Cookie kept when configured', () => {
    const out = storedHeaders({ date: DATE, 'x-a': '1', 'set-cookie': 'a=b' }, { omit: ['x-a'], storeSetCookie: true }, NOW);
    expect(out).toEqual({ date: DATE, 'set-cookie': 'a=b' });
  });

  test('a missing Date is added (RFC 9110 §6.6.1)', () => {
    expect(clientHeaders({ 'x-a': '1' }, NOW)['date']).toBe(new Date(NOW).toUTCString());
  });
});

describe('updatedHeaders (§3.2)', () => {
  const stored = { date: DATE, etag: '"a"', 'content-length': '10', 'content-type': 'text/plain', 'x-v': '1', 'cache-control': 'max-age=1' };
  test.each<[string, Record<string, string>, Record<string, string>]>([
    ['fields replaced', { 'x-v': '2', 'cache-control': 'max-age=100' }, { 'x-v': '2', 'cache-control': 'max-age=100' }],
    ['new fields added', { 'x-new': 'y' }, { 'x-new': 'y', 'x-v': '1' }],
    ['Content-Length of the 304 ignored', { 'content-length': '0' }, { 'content-length': '10' }],
    ['Content-Type updated', { 'content-type': 'text/html' }, { 'content-type': 'text/html' }],
    ['Date updated when sent', { date: new Date(NOW).toUTCString() }, { date: new Date(NOW).toUTCString() }],
    ['Date kept when not sent', {}, { date: DATE }],
    ['hop-by-hop ignored', { connection: 'close', 'transfer-encoding': 'chunked' }, { 'x-v': '1' }],
  ])('%s', (_name, received, expected) => {
    const out = updatedHeaders(stored, received, { omit: [], storeSetCookie: false }, NOW);
    expect(out).toMatchObject(expected);
    expect(out).not.toHaveProperty('connection');
    expect(out).not.toHaveProperty('transfer-encoding');
  });
});
