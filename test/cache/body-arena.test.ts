import { describe, expect, test } from 'vitest';
import { BodyArena } from '../../src/cache/body-arena.js';
import { CacheStore } from '../../src/cache/store.js';
import { analyseResponse, createStoredResponse, type StoredResponse } from '../../src/cache/stored-response.js';

const T = Date.UTC(2030, 0, 1);
const cfg = { heuristicFraction: 0.1, heuristicMax: 86_400_000 };

function obj(primary: string, body: Buffer, headers: Record<string, string> = {}): StoredResponse {
  const h: Record<string, string> = { 'cache-control': 'max-age=60', date: new Date(T).toUTCString(), ...headers };
  const timing = { requestTime: T, responseTime: T };
  return createStoredResponse({ primary, secondary: undefined, status: 200, headers: h, body, policy: analyseResponse(200, h, timing, cfg), timing, storeSetCookie: false });
}

/** Distinct, recognisable content per object. */
function content(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

/** A tiny deterministic PRNG, so that a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x80000000; };
}

describe('BodyArena', () => {
  test('sizes slabs from the cache size; small caches do not pack', () => {
    expect(new BodyArena(100_000).maxPacked).toBe(0);
    const a = new BodyArena(256 * 1024 * 1024);
    expect(a.slabSize).toBe(64 * 1024);
    expect(a.maxPacked).toBe(4 * 1024);
    const b = new BodyArena(1_000_000);
    expect(b.slabSize).toBeLessThanOrEqual(1_000_000 / 64);
  });

  test('a slab is dropped with its last body; an empty arena keeps nothing', () => {
    const a = new BodyArena(64 * 64 * 1024);
    const s1 = a.copyIn(Buffer.alloc(3000, 1));
    const s2 = a.copyIn(Buffer.alloc(3000, 2));
    expect(s2).toBe(s1);
    expect([a.slabs, a.retained, a.waste, a.holes]).toEqual([1, 64 * 1024, 64 * 1024 - 6000, 0]);
    a.release(s1, 3000);
    expect(a.holes).toBe(3000);
    a.release(s2, 3000);
    expect([a.slabs, a.retained, a.waste]).toEqual([0, 0, 0]);
  });
});

describe('CacheStore with packed bodies', () => {
  const maxSize = 4 * 1024 * 1024;

  test('small bodies are packed, large ones and views into larger buffers get memory of their own', () => {
    const store = new CacheStore({ maxSize, maxObjectSize: 512 * 1024 });
    const small = obj('https://h/small', content(1, 1024));
    const socketRead = Buffer.alloc(64 * 1024);
    content(2, 20_000).copy(socketRead, 100);
    const large = obj('https://h/large', socketRead.subarray(100, 20_100));
    store.set(small);
    store.set(large);
    expect(small.slab).toBeDefined();
    expect(store.lookup('https://h/small', {})?.body.equals(content(1, 1024))).toBe(true);
    expect(large.slab).toBeUndefined();
    expect(large.body.buffer.byteLength).toBe(20_000);
    expect(large.body.equals(content(2, 20_000))).toBe(true);
    expect(store.bytes).toBe(small.size + large.size + store.arena.waste);
  });

  test('a body handed out stays intact after its object is evicted and others are stored', () => {
    const store = new CacheStore({ maxSize, maxObjectSize: 512 * 1024 });
    store.set(obj('https://h/neighbour', content(6, 1200)));
    store.set(obj('https://h/a', content(7, 1500)));
    const sent = store.lookup('https://h/a', {})!.body;
    store.purgePrimary('https://h/a', false); // its slab stays: the neighbour is still stored
    for (let i = 0; i < 5000; i++) store.set(obj(`https://h/${i}`, content(i, 1000 + (i % 5) * 300)));
    expect(sent.equals(content(7, 1500))).toBe(true);
  });

  test('under churn with scattered purges: bytes (objects + slab waste) stay within maxSize, holes are compacted, content survives moves', () => {
    const store = new CacheStore({ maxSize, maxObjectSize: 512 * 1024 });
    const random = rng(42);
    const sizes = new Map<number, number>();
    let maxBytes = 0;
    let maxHoles = 0;
    for (let i = 0; i < 20_000; i++) {
      const size = 1 + Math.floor(random() * 4000);
      sizes.set(i, size);
      store.set(obj(`https://h/${i}`, content(i, size)));
      // Scattered removals (purges, replacements) leave holes that LRU eviction does not clear.
      if (random() < 0.5) store.purgePrimary(`https://h/${Math.floor(random() * i)}`, false);
      // Keep some old objects in use, so that old slabs keep a few live bodies.
      if (i % 7 === 0) store.lookup(`https://h/${Math.floor(random() * i)}`, {});
      maxBytes = Math.max(maxBytes, store.bytes);
      maxHoles = Math.max(maxHoles, store.arena.holes);
    }
    expect(maxBytes).toBeLessThanOrEqual(maxSize);
    expect(store.objects).toBeGreaterThan(500);
    // Holes grew to the threshold and were compacted there, never beyond it.
    expect(maxHoles).toBeGreaterThan(store.arena.compactAbove / 2);
    expect(maxHoles).toBeLessThanOrEqual(store.arena.compactAbove);
    // Waste (holes plus unused slab ends, each under 1/16 of a slab) stays a small share of the cache.
    expect(store.arena.waste).toBeLessThanOrEqual(store.arena.compactAbove + store.arena.retained / 16 + 64 * 1024);
    let checked = 0;
    for (const [i, size] of sizes) {
      const e = store.lookup(`https://h/${i}`, {});
      if (e === undefined) continue;
      expect(e.body.equals(content(i, size))).toBe(true);
      checked++;
    }
    expect(checked).toBe(store.objects);
    expect(store.purgeAll(false)).toBe(checked);
    expect([store.bytes, store.arena.slabs]).toEqual([0, 0]);
  });
});
