// The report's reading of a run against the targets and against its own noise: the
// A/A control (bare-again) gives each scenario the range two identical servers drifted apart
// in, and a target whose measured / goal falls inside it is marked "within noise". Pure
// functions on hand-made records: no load is run here.
import { describe, expect, it } from 'vitest';
import type { BenchRun, RunRecord } from '../../bench/harness.js';
import { markdown, noiseFloor, summarize, targets } from '../../bench/report.js';

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
});
