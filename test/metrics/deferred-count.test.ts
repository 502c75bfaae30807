// deferredCount stands in for a prom-client counter child on the hot path (cache lookups,
// evictions): whoever reads the counter — /metrics, get(), the supervisor's aggregation over
// workers — must see every count taken before the read, once.
import { describe, expect, test } from 'vitest';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { deferredCount } from '../../src/metrics.js';

describe('deferredCount', () => {
  test('/metrics shows what was counted before the scrape, per label, and never counts it twice', async () => {
    const reg = new Registry();
    const c = new Counter({ name: 't_lookups_total', help: 'h', labelNames: ['result'] as const, registers: [reg] });
    const hit = deferredCount(c, { result: 'hit' });
    const miss = deferredCount(c, { result: 'miss' });
    for (let i = 0; i < 5; i++) hit.inc();
    miss.inc();
    expect(await reg.metrics()).toContain('t_lookups_total{result="hit"} 5');
    expect(await reg.metrics()).toContain('t_lookups_total{result="miss"} 1');
    hit.inc();
    const values = (await c.get()).values;
    expect(values.find((v) => v.labels.result === 'hit')?.value).toBe(6);
    expect(values.find((v) => v.labels.result === 'miss')?.value).toBe(1);
  });

  test('mixes with direct inc() and keeps the counter\'s own collect()', async () => {
    const reg = new Registry();
    let collected = 0;
    const c = new Counter({ name: 't_evictions_total', help: 'h', registers: [reg], collect() { collected++; } });
    const d = deferredCount(c);
    d.inc(); d.inc();
    c.inc(3);
    expect(await reg.metrics()).toContain('t_evictions_total 5');
    expect(collected).toBe(1);
    // A second series source on the same counter (a second cache in the same process) adds up.
    const e = deferredCount(c);
    e.inc(); d.inc();
    expect(await reg.metrics()).toContain('t_evictions_total 7');
    expect(collected).toBe(2);
  });

  test('the supervisor\'s sum over workers includes deferred counts', async () => {
    const worker = (n: number) => {
      const reg = new Registry();
      const c = new Counter({ name: 't_hits_total', help: 'h', labelNames: ['result'] as const, registers: [reg] });
      const hit = deferredCount(c, { result: 'hit' });
      for (let i = 0; i < n; i++) hit.inc();
      return reg;
    };
    const json = await Promise.all([worker(2), worker(3)].map((r) => r.getMetricsAsJSON()));
    const sum = AggregatorRegistry.aggregate(json);
    expect(await sum.metrics()).toContain('t_hits_total{result="hit"} 5');
  });
});
