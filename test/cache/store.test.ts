import { describe, expect, test } from 'vitest';
import { CacheStore } from '../../src/cache/store.js';
import { analyseResponse, createStoredResponse, type StoredResponse } from '../../src/cache/stored-response.js';
import { parseVary, secondaryKey } from '../../src/cache/vary.js';

const T = Date.UTC(2030, 0, 1);
const cfg = { heuristicFraction: 0.1, heuristicMax: 86_400_000 };

function obj(primary: string, body: string, headers: Record<string, string> = {}, req: Record<string, string> = {}): StoredResponse {
  const h: Record<string, string> = { 'cache-control': 'max-age=60', date: new Date(T).toUTCString(), ...headers };
  const timing = { requestTime: T, responseTime: T };
  const policy = analyseResponse(200, h, timing, cfg);
  const vary = parseVary(h['vary']);
  const secondary = vary.kind === 'names' ? secondaryKey(vary.names, req) : undefined;
  return createStoredResponse({ primary, secondary, status: 200, headers: h, body: Buffer.from(body), policy, timing, storeSetCookie: false });
}

describe('CacheStore', () => {
  test('stays within maxSize under churn, evicting least recently used objects', () => {
    let evictions = 0;
    const store = new CacheStore({ maxSize: 50_000, maxObjectSize: 10_000, onEvict: () => evictions++ });
    let max = 0;
    for (let i = 0; i < 5000; i++) {
      store.set(obj(`https://h/${i}`, 'x'.repeat(100 + (i % 13) * 500), { 'surrogate-key': `t${i % 10} all` }));
      if (i % 3 === 0) store.lookup(`https://h/${i - 1}`, {});
      max = Math.max(max, store.bytes);
    }
    expect(max).toBeLessThanOrEqual(50_000);
    expect(store.objects).toBeGreaterThan(5);
    expect(evictions).toBe(5000 - store.objects);
    // the tag index holds exactly the objects still stored
    expect(store.purgeTag('all', true)).toBe(store.objects);
  });

  test('objects larger than maxObjectSize are not stored', () => {
    const store = new CacheStore({ maxSize: 100_000, maxObjectSize: 2000 });
    expect(store.set(obj('https://h/big', 'x'.repeat(3000)))).toBe(false);
    expect(store.set(obj('https://h/small', 'x'.repeat(100)))).toBe(true);
    expect(store.objects).toBe(1);
  });

  test('variants are selected by the Vary fields; a new Vary list replaces the old variants', () => {
    const store = new CacheStore({ maxSize: 1_000_000, maxObjectSize: 100_000 });
    store.set(obj('https://h/v', 'gzip', { vary: 'accept-encoding' }, { 'accept-encoding': 'gzip' }));
    store.set(obj('https://h/v', 'br', { vary: 'accept-encoding' }, { 'accept-encoding': 'br' }));
    expect(store.lookup('https://h/v', { 'accept-encoding': 'gzip' })?.body.toString()).toBe('gzip');
    expect(store.lookup('https://h/v', { 'accept-encoding': 'br' })?.body.toString()).toBe('br');
    expect(store.lookup('https://h/v', {})).toBeUndefined();
    expect(store.hasVariants('https://h/v')).toBe(true);
    store.set(obj('https://h/v', 'lang', { vary: 'accept-language' }, { 'accept-language': 'en' }));
    expect(store.objects).toBe(1);
    expect(store.lookup('https://h/v', { 'accept-encoding': 'gzip' })).toBeUndefined();
    expect(store.lookup('https://h/v', { 'accept-language': 'en' })?.body.toString()).toBe('lang');
    store.set(obj('https://h/v', 'plain'));
    expect(store.objects).toBe(1);
    expect(store.hasVariants('https://h/v')).toBe(false);
    expect(store.lookup('https://h/v', { 'accept-language': 'en' })?.body.toString()).toBe('plain');
  });

  test('purges: by primary key (all variants), prefix, tag, all; soft marks instead of deleting', () => {
    const store = new CacheStore({ maxSize: 1_000_000, maxObjectSize: 100_000 });
    store.set(obj('https://h/a', '1', { vary: 'x' }, { x: '1' }));
    store.set(obj('https://h/a', '2', { vary: 'x' }, { x: '2' }));
    store.set(obj('https://h/img/1', '3', { 'cache-tag': 'img' }));
    store.set(obj('https://h/img/2', '4', { 'cache-tag': 'img' }));
    store.set(obj('https://h.example/img/3', '5', { 'cache-tag': 'img' }));
    expect(store.purgePrimary('https://h/a', true)).toBe(2);
    expect(store.lookup('https://h/a', { x: '1' })?.invalidated).toBe(true);
    expect(store.purgePrimary('https://h/a', false)).toBe(2);
    expect(store.purgePrefix('https://h/img/', false)).toBe(2);
    expect(store.purgeTag('img', false)).toBe(1);
    expect(store.purgeTag('img', false)).toBe(0);
    store.set(obj('https://h/b', '6'));
    expect(store.purgeAll(true)).toBe(1);
    expect(store.lookup('https://h/b', {})?.invalidated).toBe(true);
    expect(store.purgeAll(false)).toBe(1);
    expect([store.objects, store.bytes]).toEqual([0, 0]);
  });

  test('replacing an object keeps the indexes exact', () => {
    const store = new CacheStore({ maxSize: 1_000_000, maxObjectSize: 100_000 });
    store.set(obj('https://h/a', '1', { 'surrogate-key': 'old' }));
    store.set(obj('https://h/a', '2', { 'surrogate-key': 'new' }));
    expect(store.purgeTag('old', false)).toBe(0);
    expect(store.purgeTag('new', false)).toBe(1);
  });
});
