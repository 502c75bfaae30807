// BucketHistogram stands in for prom-client's Histogram on the request path: what /metrics
// prints, and what the supervisor sums over workers, must be what prom-client would give.
import { describe, expect, test } from 'vitest';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { BucketHistogram } from '../../src/metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// On a bound (le is inclusive), between bounds, above the largest, zero, and negative.
const VALUES = [0.001, 0.0005, 0.01, 0.05, 0.1, 0.7, 1, 3, 0, -1];

function pair(name: string, labelled: boolean) {
  const theirs = new Registry();
  const ours = new Registry();
  const help = 'test histogram';
  const labelNames = labelled ? ['class'] as const : [];
  const ref = new Histogram({ name, help, buckets: BUCKETS, labelNames: [...labelNames], registers: [theirs] });
  const mine = new BucketHistogram<'class'>({ name, help, buckets: BUCKETS, labelNames: [...labelNames], registers: [ours] });
  return { theirs, ours, ref, mine };
}

describe('BucketHistogram', () => {
  test('prints exactly what a prom-client Histogram prints, labelled', async () => {
    const { theirs, ours, ref, mine } = pair('t_labelled_seconds', true);
    const ok = mine.labels({ class: '2xx' });
    const bad = mine.labels({ class: '5xx' });
    mine.labels({ class: '4xx' }); // asked for, never observed: no series, as in prom-client
    for (const v of VALUES) { ref.labels({ class: '2xx' }).observe(v); ok.observe(v); }
    ref.labels({ class: '5xx' }).observe(2.5); bad.observe(2.5);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('t_labelled_seconds_bucket{le="0.01",class="2xx"} 5');
  });

  test('prints exactly what a prom-client Histogram prints, unlabelled, before and after observing', async () => {
    const { theirs, ours, ref, mine } = pair('t_plain_seconds', false);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const v of VALUES) { ref.observe(v); mine.observe(v); }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('t_plain_seconds_count 10');
  });

  test('sums over workers the way the supervisor aggregates prom-client histograms', async () => {
    const a = pair('t_sum_seconds', true);
    const b = pair('t_sum_seconds', true);
    a.mine.labels({ class: '2xx' }).observe(0.05); a.ref.labels({ class: '2xx' }).observe(0.05);
    b.mine.labels({ class: '2xx' }).observe(2); b.ref.labels({ class: '2xx' }).observe(2);
    b.mine.labels({ class: '3xx' }).observe(0.001); b.ref.labels({ class: '3xx' }).observe(0.001);
    const ours = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]);
    const theirs = AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('t_sum_seconds_count{class="2xx"} 2');
  });

  test('refuses what prom-client refuses: a non-number, an unknown label, bad buckets', () => {
    const { mine } = pair('t_bad_seconds', true);
    const child = mine.labels({ class: '2xx' });
    expect(() => child.observe(Number.NaN)).toThrow(/not a valid number/);
    expect(() => child.observe(Number.POSITIVE_INFINITY)).toThrow(/not a valid number/);
    expect(() => mine.labels({ kind: 'x' } as unknown as { class: string })).toThrow(/unknown label "kind"/);
    expect(() => new BucketHistogram({ name: 't_dup', help: 'h', buckets: [1, 1], registers: [new Registry()] })).toThrow(/distinct finite/);
    // A bad observation changed nothing.
    expect(child.count).toBe(0);
  });

  test('reset() empties every series', async () => {
    const { theirs, ours, ref, mine } = pair('t_reset_seconds', true);
    mine.labels({ class: '2xx' }).observe(0.5); ref.labels({ class: '2xx' }).observe(0.5);
    mine.reset(); ref.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
