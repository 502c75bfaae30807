// Paired windows: the targets measured the way bench/pair-ab.sh measures, inside the run.
// A round runs one subject after another, minutes apart, and this machine's speed can halve
// in that time: the same-round ratios of two identical servers spread 0.4–2.4 in a full run.
// Here both subjects of a pair are up at once and loaded in turn for short windows, A B B A,
// so that a drift of the machine within a pair cancels; each pair gives one ratio,
// (B1 + B2) / (A1 + A2), and the A/A pair (bare-again / bare) gives the spread two identical
// servers show by the same method.
import type { LoadResult } from './load/types.js';
import { spread, type Spread } from './stats.js';

export interface PairSpec {
  label: string;
  /**
   * The first of these the run selected is the one measured. Only wrk's and h2load's: a
   * window of autocannon is a new Node process whose own code is still being compiled in its
   * first second (in the 08:03 run every forwarder "served" the same ~5k req/s in 2 s
   * autocannon windows, against 6–12k in the rounds' 6 s ones).
   */
  scenarios: readonly string[];
  /** The divisor (A) and the subject measured against it (B). */
  a: string;
  b: string;
  /** The A/A control: its spread is the method's noise. */
  aa?: boolean;
  goal?: { text: string; value: number };
}

export const PAIRS: readonly PairSpec[] = [
  { label: 'A/A: bare-again / bare', scenarios: ['hit-1k-h1-wrk'], a: 'bare', b: 'bare-again', aa: true },
  { label: 'cache hit h1 1 KiB: anyedge-1w / bare', scenarios: ['hit-1k-h1-wrk'], a: 'bare', b: 'anyedge-1w', goal: { text: '≥ 0.95', value: 0.95 } },
  { label: 'cache hit h2: anyedge-1w / bare (compat h2)', scenarios: ['hit-1k-h2'], a: 'bare', b: 'anyedge-1w', goal: { text: '≥ 1.0', value: 1 } },
  { label: 'miss: anyedge-1w / undici forwarder', scenarios: ['miss-1k-h1-wrk'], a: 'undici', b: 'anyedge-1w', goal: { text: '≥ 1.0', value: 1 } },
  { label: 'miss: anyedge-1w / http-proxy forwarder', scenarios: ['miss-1k-h1-wrk'], a: 'http-proxy', b: 'anyedge-1w', goal: { text: '≥ 1.5', value: 1.5 } },
];

export type PlannedPair = PairSpec & { scenario: string };

export interface PairedResult {
  label: string;
  scenario: string;
  generator: string;
  a: string;
  b: string;
  aa?: boolean;
  goal?: { text: string; value: number };
  windowS: number;
  /** req/s of every window, in the order run: per pair A, B, B, A. */
  aRps: number[];
  bRps: number[];
  /** One ratio per pair. */
  ratios: number[];
  ratio: Spread;
}

/** The pairs whose two subjects and one of whose scenarios this run has. */
export function planPairs(subjects: readonly string[], scenarios: readonly string[]): PlannedPair[] {
  const out: PlannedPair[] = [];
  for (const p of PAIRS) {
    const scenario = p.scenarios.find((s) => scenarios.includes(s));
    if (scenario !== undefined && subjects.includes(p.a) && subjects.includes(p.b)) out.push({ ...p, scenario });
  }
  return out;
}

/** A window's figure: 2xx answers per second (a shed 503 is fast and would flatter the subject). */
export function goodput(r: Pick<LoadResult, 'rps' | 'responses' | 'non2xx'>): number {
  return r.responses === 0 ? 0 : r.rps * (1 - r.non2xx / r.responses);
}

/** One window of load on a subject; resolves to its 2xx req/s. */
export type MeasureWindow = (subject: string, scenario: string) => Promise<number>;

/**
 * Per planned pair: one unrecorded window on each subject (code paths compiled, a cache hit
 * stored), then `pairs` × A B B A. A window that answered nothing makes its ratio NaN, which
 * the spread leaves out.
 */
export async function measurePairs(plan: readonly PlannedPair[], pairs: number, windowS: number, generatorOf: (scenario: string) => string, measure: MeasureWindow, before: (p: PlannedPair) => Promise<void>, log: (l: string) => void): Promise<PairedResult[]> {
  const results: PairedResult[] = [];
  for (const p of plan) {
    await before(p);
    await measure(p.a, p.scenario);
    await measure(p.b, p.scenario);
    const aRps: number[] = [];
    const bRps: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const a1 = await measure(p.a, p.scenario);
      const b1 = await measure(p.b, p.scenario);
      const b2 = await measure(p.b, p.scenario);
      const a2 = await measure(p.a, p.scenario);
      aRps.push(a1, a2);
      bRps.push(b1, b2);
      ratios.push(a1 + a2 > 0 && b1 > 0 && b2 > 0 ? (b1 + b2) / (a1 + a2) : Number.NaN);
    }
    const ratio = spread(ratios);
    log(`  paired ${p.label.padEnd(44)} ${p.scenario.padEnd(14)} ${ratio.median.toFixed(2)} (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}) over ${ratio.n} pairs`);
    results.push({ label: p.label, scenario: p.scenario, generator: generatorOf(p.scenario), a: p.a, b: p.b, ...(p.aa ? { aa: true } : {}), ...(p.goal ? { goal: p.goal } : {}), windowS, aRps, bRps, ratios, ratio });
  }
  return results;
}
