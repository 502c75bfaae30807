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
