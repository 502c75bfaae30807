// Hit-for-miss: once a key's response turned out not storable, its misses stop queueing
// behind one another on the coalescing lock, until the mark expires or a storable
// response comes back.
import { afterEach, describe, expect, test } from 'vitest';
import { fixture, send, type Fixture } from './harness.js';

let f: Fixture | undefined;
afterEach(async () => { await f?.close(); f = undefined; });

/** An origin that answers after `ms`, counting how many requests it holds at once. */
function slowOrigin(cacheControl: () => string, ms = 100) {
  const state = { inflight: 0, maxInflight: 0, arrivals: [] as number[] };
  const handler = (_req: unknown, res: import('node:http').ServerResponse) => {
    state.arrivals.push(performance.now());
    state.inflight++;
    state.maxInflight = Math.max(state.maxInflight, state.inflight);
    setTimeout(() => { state.inflight--; send(res, 200, { 'cache-control': cacheControl() }, 'body'); }, ms);
  };
  return { state, handler };
}

describe('hit-for-miss', () => {
  test('concurrent misses for a key known to be uncacheable reach the origin together', async () => {
    const o = slowOrigin(() => 'no-store');
    f = await fixture(o.handler);
    // The first answer tells the cache this key cannot be stored.
    expect((await f.get('/api/feed')).cacheStatus).toContain('detail=');
    o.state.maxInflight = 0;
    const results = await Promise.all(Array.from({ length: 10 }, () => f!.get('/api/feed')));
    expect(results.every((r) => r.status === 200 && r.body === 'body')).toBe(true);
    // All ten were at the origin at the same time: nobody waited for a leader.
    expect(o.state.maxInflight).toBe(10);
    expect(results.some((r) => r.cacheStatus.includes('collapsed'))).toBe(false);
  });

  test('a key not yet known is still coalesced, and a storable answer ends the mark', async () => {
    let cc = 'no-store';
    const o = slowOrigin(() => cc);
    f = await fixture(o.handler);
    // Unknown key: ten concurrent misses wait behind one leader; only when its answer
    // proves unshareable do the others go to the origin (together).
    await Promise.all(Array.from({ length: 10 }, () => f!.get('/page')));
    const [leader, ...others] = o.state.arrivals;
    expect(others).toHaveLength(9);
    for (const t of others) expect(t - leader!).toBeGreaterThanOrEqual(90);
    // Marked now. The origin starts allowing storage: the next answer is stored...
    cc = 'public, max-age=60';
    expect((await f.get('/page')).cacheStatus).toContain('stored');
    // ...and from then on the key is served from the cache again.
    const before = f.origin.count;
    expect((await f.get('/page')).result).toBe('hit');
    expect(f.origin.count).toBe(before);
  });

  test('the mark expires', async () => {
    const o = slowOrigin(() => 'no-store');
    f = await fixture(o.handler);
    await f.get('/x');
    f.clock.advance(31);
    o.state.maxInflight = 0;
    await Promise.all(Array.from({ length: 5 }, () => f!.get('/x')));
    // Coalesced again: one leader alone at the origin, then the waiters.
    const [leader, ...others] = o.state.arrivals.slice(1);
    for (const t of others) expect(t - leader!).toBeGreaterThanOrEqual(90);
  });
});
