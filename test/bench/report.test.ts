// The report's reading of a run against the targets and against its own noise: the
// A/A control (bare-again) gives each scenario the range two identical servers drifted apart
// in, and a target whose measured / goal falls inside it is marked "within noise". Pure
// functions on hand-made records: no load is run here.
import { describe, expect, it } from 'vitest';
import type { BenchRun, RunRecord } from '../../bench/harness.js';
import { goodput, measurePairs, planPairs, type PairedResult } from '../../bench/paired.js';
import { markdown, noiseFloor, summarize, targets } from '../../bench/report.js';
import { spread } from '../../bench/stats.js';

function rec(round: number, subject: string, rps: number, scenario = 'hit-1k-h1'): RunRecord {
  return { round, scenario, subject, result: { generator: 'autocannon', rps, p50Ms: 1, p99Ms: 2, responses: rps, non2xx: 0, errors: 0, durationS: 1 } };
}

function run(records: RunRecord[]): BenchRun {
  const subjects = [...new Set(records.map((r) => r.subject))].map((name) => ({ name, description: name }));
  return {
    meta: { startedAt: 't0', finishedAt: 't1', node: 'v20', cpus: 2, pinning: { server: '0', load: '1', all: '0-1' }, durationS: 1, warmupS: 0, rounds: 2, quick: false, generators: { 'hit-1k-h1': 'autocannon' } },
    subjects,
    scenarios: [{ name: 'hit-1k-h1', title: 'hit' }],
    notes: [],
    records,
    pids: [],
  } as unknown as BenchRun;
}

describe('bench report: targets against the run\'s noise floor', () => {
  it('marks a target "within noise" when measured / goal lies inside the A/A range of its scenario', () => {
    // bare-again / bare: 0.80 and 1.20 in the two rounds; anyedge-1w / bare: 0.90 both times.
    const r = run([rec(1, 'bare', 100), rec(1, 'anyedge-1w', 90), rec(1, 'bare-again', 80), rec(2, 'bare', 100), rec(2, 'anyedge-1w', 90), rec(2, 'bare-again', 120)]);
    const hit = targets(r, summarize(r)).find((t) => t.what.startsWith('cache hit h1 1 KiB: '))!;
    expect(hit.value).toBeCloseTo(0.9);
    expect(hit.met).toBe(false);
    expect(hit.noise).toMatchObject({ min: 0.8, max: 1.2 });
    expect(hit.withinNoise).toBe(true);
    const md = markdown(r, summarize(r));
    expect(md).toContain('| cache hit h1 1 KiB: anyedge-1w / bare | 0.90 | ≥ 0.95 | no, within noise | 0.80–1.20 |');
    expect(md).toMatch(/\*\*Noise floor:\*\* .* moved 0\.80–1\.20/);
  });

  it('gives a firm answer when the A/A range is narrower than the gap, and none without the control', () => {
    const tight = run([rec(1, 'bare', 100), rec(1, 'anyedge-1w', 50), rec(1, 'bare-again', 98), rec(2, 'bare', 100), rec(2, 'anyedge-1w', 50), rec(2, 'bare-again', 103)]);
    const hit = targets(tight, summarize(tight)).find((t) => t.what.startsWith('cache hit h1 1 KiB: '))!;
    expect(hit.met).toBe(false);
    expect(hit.withinNoise).toBe(false);
    expect(markdown(tight, summarize(tight))).toContain('| 0.50 | ≥ 0.95 | no | 0.98–1.03 |');

    const none = run([rec(1, 'bare', 100), rec(1, 'anyedge-1w', 99)]);
    const t = targets(none, summarize(none)).find((x) => x.what.startsWith('cache hit h1 1 KiB: '))!;
    expect(t.met).toBe(true);
    expect(t.noise).toBeUndefined();
    expect(noiseFloor(none)).toBeUndefined();
    expect(markdown(none, summarize(none))).not.toContain('Noise floor');
  });

  it('reads the paired windows against the paired A/A, and lists every pair', () => {
    const r = run([rec(1, 'bare', 100), rec(1, 'anyedge-1w', 99)]);
    const pair = (label: string, ratios: number[], extra: Partial<PairedResult>): PairedResult => ({ label, scenario: 'hit-1k-h1-wrk', generator: 'wrk', a: 'bare', b: 'x', windowS: 2, aRps: [100, 100], bRps: [90, 90], ratios, ratio: spread(ratios), ...extra });
    r.paired = [
      pair('A/A: bare-again / bare', [0.97, 1.02, 1.04], { aa: true }),
      pair('cache hit h1 1 KiB: anyedge-1w / bare', [0.76, 0.78, 0.8], { goal: { text: '≥ 0.95', value: 0.95 } }),
    ];
    const t = targets(r, summarize(r));
    const rounds = t.find((x) => x.what === 'cache hit h1 1 KiB: anyedge-1w / bare')!;
    const paired = t.find((x) => x.what.startsWith('cache hit h1 1 KiB: anyedge-1w / bare — paired'))!;
    // The rounds said "met" (0.99); the paired windows say no, and firmly: 0.78 / 0.95 is outside 0.97–1.04.
    expect(rounds.met).toBe(true);
    expect(paired).toMatchObject({ value: 0.78, met: false, withinNoise: false, noise: { min: 0.97, max: 1.04 } });
    const md = markdown(r, summarize(r));
    expect(md).toContain('## Side by side: paired windows');
    expect(md).toContain('| A/A: bare-again / bare | hit-1k-h1-wrk | wrk | 1.02 (0.97–1.04) | 3 | 100 | 90 |');
    expect(md).toContain('| cache hit h1 1 KiB: anyedge-1w / bare — paired windows (hit-1k-h1-wrk) | 0.78 | ≥ 0.95 | no | 0.97–1.04 |');
  });
});

describe('bench paired windows', () => {
  it('plans the pairs the run has subjects and a wrk or h2load scenario for', () => {
    const all = ['bare', 'bare-again', 'anyedge-1w', 'undici'];
    const plan = planPairs(all, ['hit-1k-h1', 'hit-1k-h1-wrk', 'hit-1k-h2', 'miss-1k-h1', 'miss-1k-h1-wrk']);
    expect(plan.map((p) => `${p.b}/${p.a}@${p.scenario}`)).toEqual(['bare-again/bare@hit-1k-h1-wrk', 'anyedge-1w/bare@hit-1k-h1-wrk', 'anyedge-1w/bare@hit-1k-h2', 'anyedge-1w/undici@miss-1k-h1-wrk']);
    // autocannon's scenarios alone give no pairs: each window would be a cold generator.
    expect(planPairs(all, ['hit-1k-h1', 'miss-1k-h1'])).toEqual([]);
  });

  it('loads A B B A after one unrecorded window each, one ratio per pair', async () => {
    const calls: string[] = [];
    const rates: Record<string, number[]> = { bare: [999, 100, 110, 90, 100], 'anyedge-1w': [999, 80, 70, 60, 90] };
    const [p] = planPairs(['bare', 'anyedge-1w'], ['hit-1k-h1-wrk']);
    const out = await measurePairs([p!], 2, 2, () => 'autocannon', async (subject) => { calls.push(subject); return rates[subject]!.shift()!; }, async () => undefined, () => undefined);
    expect(calls).toEqual(['bare', 'anyedge-1w', 'bare', 'anyedge-1w', 'anyedge-1w', 'bare', 'bare', 'anyedge-1w', 'anyedge-1w', 'bare']);
    // Pair 1: (80 + 70) / (100 + 110); pair 2: (60 + 90) / (90 + 100). The warm-up 999s are not counted.
    expect(out[0]!.ratios[0]).toBeCloseTo(150 / 210);
    expect(out[0]!.ratios[1]).toBeCloseTo(150 / 190);
    expect(out[0]!.aRps).toEqual([100, 110, 90, 100]);
    expect(out[0]!.ratio.n).toBe(2);
  });

  it('counts 2xx answers only in a window, and a window that answered nothing as 0', () => {
    expect(goodput({ rps: 1000, responses: 2000, non2xx: 0 })).toBe(1000);
    expect(goodput({ rps: 1000, responses: 2000, non2xx: 500 })).toBe(750);
    expect(goodput({ rps: 0, responses: 0, non2xx: 0 })).toBe(0);
  });
});
