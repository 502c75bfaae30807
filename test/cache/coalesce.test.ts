import { expect, test } from 'vitest';
import { CacheLock } from '../../src/cache/coalesce.js';

test('the first acquirer leads, later ones wait and all get the outcome; the key is then free', async () => {
  const locks = new CacheLock<string>(10_000);
  const a = locks.acquire('k');
  const b = locks.acquire('k');
  const c = locks.acquire('k');
  expect([a.leader, b.leader, c.leader]).toEqual([true, false, false]);
  expect(locks.isLocked('k')).toBe(true);
  if (!a.leader || b.leader || c.leader) throw new Error('unreachable');
  a.lock.release({ kind: 'stored', entry: 'obj' });
  expect(await b.wait).toEqual({ kind: 'stored', entry: 'obj' });
  expect(await c.wait).toEqual({ kind: 'stored', entry: 'obj' });
  expect(locks.size).toBe(0);
  expect(locks.acquire('k').leader).toBe(true);
});

test('only the first release counts', async () => {
  const locks = new CacheLock<string>(10_000);
  const a = locks.acquire('k');
  const b = locks.acquire('k');
  if (!a.leader || b.leader) throw new Error('unreachable');
  a.lock.release({ kind: 'failed', error: new Error('x') });
  a.lock.release({ kind: 'stored', entry: 'late' });
  expect((await b.wait).kind).toBe('failed');
  expect(a.lock.released).toBe(true);
});

test('keys are independent', () => {
  const locks = new CacheLock<string>(10_000);
  expect(locks.acquire('a').leader).toBe(true);
  expect(locks.acquire('b').leader).toBe(true);
  expect(locks.size).toBe(2);
});

test('on timeout waiters are released and the key unlocked; the slow leader cannot settle the new lock', async () => {
  const locks = new CacheLock<string>(20);
  const slow = locks.acquire('k');
  const waiter = locks.acquire('k');
  if (!slow.leader || waiter.leader) throw new Error('unreachable');
  expect(await waiter.wait).toEqual({ kind: 'timeout' });
  const next = locks.acquire('k');
  expect(next.leader).toBe(true);
  const nextWaiter = locks.acquire('k');
  slow.lock.release({ kind: 'stored', entry: 'old' });
  expect(locks.isLocked('k')).toBe(true);
  if (!next.leader || nextWaiter.leader) throw new Error('unreachable');
  next.lock.release({ kind: 'pass' });
  expect(await nextWaiter.wait).toEqual({ kind: 'pass' });
});

test('a lock nobody waits on still ends at its deadline: the next request leads, the late leader settles nothing', async () => {
  const locks = new CacheLock<string>(30);
  const slow = locks.acquire('k');
  if (!slow.leader) throw new Error('unreachable');
  expect(locks.isLocked('k')).toBe(true);
  expect(locks.size).toBe(1);
  await new Promise((r) => setTimeout(r, 60));
  expect(locks.isLocked('k')).toBe(false);
  expect(locks.size).toBe(0);
  const next = locks.acquire('k');
  expect(next.leader).toBe(true);
  expect(slow.lock.released).toBe(true);
  const waiter = locks.acquire('k');
  slow.lock.release({ kind: 'stored', entry: 'old' });
  if (!next.leader || waiter.leader) throw new Error('unreachable');
  next.lock.release({ kind: 'stored', entry: 'new' });
  expect(await waiter.wait).toEqual({ kind: 'stored', entry: 'new' });
  expect(locks.size).toBe(0);
});

test('a waiter that comes late is released at the leader\'s deadline, not a full timeout after it came', async () => {
  const locks = new CacheLock<string>(400);
  const leader = locks.acquire('k');
  if (!leader.leader) throw new Error('unreachable');
  await new Promise((r) => setTimeout(r, 300));
  const joined = performance.now();
  const waiter = locks.acquire('k');
  if (waiter.leader) throw new Error('unreachable');
  expect(await waiter.wait).toEqual({ kind: 'timeout' });
  // About 100 ms after it joined; a fresh 400 ms timeout would have taken 400.
  expect(performance.now() - joined).toBeLessThan(300);
  leader.lock.release({ kind: 'pass' });
});
