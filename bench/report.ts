// Turns a run's per-round records into medians, spreads and same-round ratios, and writes
// them as JSON and a markdown table (timestamped, plus latest.*) with the SVG chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg } from './chart.js';
import type { BenchRun, RunRecord } from './harness.js';
import { spread, type Spread } from './stats.js';
import { NOISE_SUBJECT, REFERENCE_SUBJECT } from './subjects/index.js';

export interface SummaryRow {
  scenario: string;
  subject: string;
  generator: string;
  rps: Spread;
  p99Ms: Spread;
  /** Per round: this subject / bare, then median and spread. */
  rpsRatio: Spread;
  p99Ratio: Spread;
  non2xx: number;
  errors: number;
  /** Median over rounds of each numeric extra. */
  extra: Record<string, number>;
}

export interface Target {
  what: string;
  value: number;
  goal: string;
  met: boolean | undefined;
  /**
   * bare-again / bare per round in the target's scenario, when the run had the A/A control:
   * a ratio this far from 1 happened between two identical servers in this run.
   */
  noise?: Spread;
  /** value / goal lies inside that spread: the run cannot tell this figure from the goal. */
  withinNoise?: boolean;
}

function find(records: RunRecord[], round: number, scenario: string, subject: string): RunRecord | undefined {
  return records.find((r) => r.round === round && r.scenario === scenario && r.subject === subject);
}

/** The per-round ratios of a figure between two subjects in one scenario. */
function ratiosBetween(records: RunRecord[], scenario: string, a: string, b: string, pick: (r: RunRecord) => number = (r) => r.result.rps): number[] {
  const values: number[] = [];
  for (const ra of records.filter((r) => r.scenario === scenario && r.subject === a)) {
    const rb = find(records, ra.round, scenario, b);
    if (rb) values.push(pick(ra) / pick(rb));
  }
  return values;
}

/** Per-round ratio of a figure between two subjects in one scenario. */
export function ratioBetween(records: RunRecord[], scenario: string, a: string, b: string, pick: (r: RunRecord) => number = (r) => r.result.rps): Spread {
  return spread(ratiosBetween(records, scenario, a, b, pick));
}

export function summarize(run: BenchRun): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const sc of run.scenarios) {
    for (const su of run.subjects) {
      const recs = run.records.filter((r) => r.scenario === sc.name && r.subject === su.name);
      if (recs.length === 0) continue;
      const extraKeys = [...new Set(recs.flatMap((r) => Object.keys(r.result.extra ?? {})))];
      const extra: Record<string, number> = {};
      for (const k of extraKeys) extra[k] = spread(recs.map((r) => Number(r.result.extra?.[k]))).median;
      rows.push({
        scenario: sc.name,
        subject: su.name,
        generator: recs[0]!.result.generator,
        rps: spread(recs.map((r) => r.result.rps)),
        p99Ms: spread(recs.map((r) => r.result.p99Ms)),
        rpsRatio: ratioBetween(run.records, sc.name, su.name, REFERENCE_SUBJECT),
        p99Ratio: ratioBetween(run.records, sc.name, su.name, REFERENCE_SUBJECT, (r) => r.result.p99Ms),
        non2xx: recs.reduce((a, r) => a + r.result.non2xx, 0),
        errors: recs.reduce((a, r) => a + r.result.errors, 0),
        extra,
      });
    }
  }
  return rows;
}

/** The issue's targets, checked against anyedge-1w where the run has the figures. */
export function targets(run: BenchRun, rows: SummaryRow[]): Target[] {
  const out: Target[] = [];
  const row = (sc: string, su: string) => rows.find((r) => r.scenario === sc && r.subject === su);
  const me = 'anyedge-1w';
  const add = (what: string, value: number, goal: string, ok: (v: number) => boolean, scenario?: string, goalValue?: number, noise?: Spread): void => {
    if (!Number.isFinite(value)) return;
    const t: Target = { what, value, goal, met: ok(value) };
    const aa = noise ?? (scenario === undefined ? undefined : ratioBetween(run.records, scenario, NOISE_SUBJECT, REFERENCE_SUBJECT));
    if (aa !== undefined && aa.n > 0 && goalValue !== undefined) {
      t.noise = aa;
      t.withinNoise = value / goalValue >= aa.min && value / goalValue <= aa.max;
    }
    out.push(t);
  };
  add('cache hit h1 1 KiB: anyedge-1w / bare', row('hit-1k-h1', me)?.rpsRatio.median ?? Number.NaN, '≥ 0.95', (v) => v >= 0.95, 'hit-1k-h1', 0.95);
  add('cache hit h1 1 KiB (wrk): anyedge-1w / bare', row('hit-1k-h1-wrk', me)?.rpsRatio.median ?? Number.NaN, '≥ 0.95', (v) => v >= 0.95, 'hit-1k-h1-wrk', 0.95);
  add('cache hit h2: anyedge-1w / bare (compat h2)', row('hit-1k-h2', me)?.rpsRatio.median ?? Number.NaN, '≥ 1.0', (v) => v >= 1, 'hit-1k-h2', 1);
  add('miss: anyedge-1w / undici forwarder', ratioBetween(run.records, 'miss-1k-h1', me, 'undici').median, '≥ 1.0', (v) => v >= 1, 'miss-1k-h1', 1);
  add('miss: anyedge-1w / http-proxy forwarder', ratioBetween(run.records, 'miss-1k-h1', me, 'http-proxy').median, '≥ 1.5', (v) => v >= 1.5, 'miss-1k-h1', 1.5);
  add('miss (wrk): anyedge-1w / undici forwarder', ratioBetween(run.records, 'miss-1k-h1-wrk', me, 'undici').median, '≥ 1.0', (v) => v >= 1, 'miss-1k-h1-wrk', 1);
  add('miss (wrk): anyedge-1w / http-proxy forwarder', ratioBetween(run.records, 'miss-1k-h1-wrk', me, 'http-proxy').median, '≥ 1.5', (v) => v >= 1.5, 'miss-1k-h1-wrk', 1.5);
  if (run.memory) {
    // Objects that were never stored cost nothing: that is no evidence for the target.
    if (run.memory.sampleHitFraction >= 0.9) add('memory: heap + external per 1 KiB object / payload', run.memory.ratioToPayload, '< 1.5', (v) => v < 1.5);
    else out.push({ what: 'memory: heap + external per 1 KiB object / payload', value: run.memory.ratioToPayload, goal: '< 1.5', met: undefined });
  }
  // The same targets from the paired windows, read against the paired A/A.
  const pairedAa = run.paired?.find((p) => p.aa)?.ratio;
  for (const p of run.paired ?? []) {
    if (!p.goal || p.ratio.n === 0) continue;
    const g = p.goal.value;
    add(`${p.label} — paired windows (${p.scenario})`, p.ratio.median, p.goal.text, (v) => v >= g, undefined, g, pairedAa);
  }
  const ov = row('overload', me);
  if (ov) {
    add('overload 2×: goodput / peak', ov.extra['goodputRatio'] ?? Number.NaN, '≥ 0.90', (v) => v >= 0.9);
    add('overload 2×: p99 admitted / p99 unloaded', ov.extra['p99Ratio'] ?? Number.NaN, '≤ 5', (v) => v <= 5);
  }
  return out;
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');
const range = (s: Spread, fmt: (n: number) => string): string => (s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median));

function noiseLine(run: BenchRun): string[] {
  const aa = noiseFloor(run);
  if (aa === undefined) return [];
  return ['', `**Noise floor:** bare-again is bare started anew and measured at the other end of each round; its same-round ratio to bare moved ${f2(aa.min)}–${f2(aa.max)} (median ${f2(aa.median)}, ${aa.n} rounds × scenarios). Two ratios closer than that spread are not a measured difference.`];
}

/** Scenarios × subjects: req/s × bare (median), the figure to read first. */
function matrix(run: BenchRun, rows: SummaryRow[]): string[] {
  const subjects = run.subjects.map((x) => x.name).filter((n) => rows.some((r) => r.subject === n));
  const out = ['Throughput × bare (median of same-round ratios; – = not applicable):', '', `| scenario | ${subjects.join(' | ')} |`, `|---|${subjects.map(() => '--:').join('|')}|`];
  for (const sc of run.scenarios) {
    if (!rows.some((r) => r.scenario === sc.name)) continue;
    out.push(`| ${sc.name} | ${subjects.map((su) => { const r = rows.find((x) => x.scenario === sc.name && x.subject === su); return r ? f2(r.rpsRatio.median) : '–'; }).join(' | ')} |`);
  }
  return out;
}

/**
 * The A/A spread: bare-again / bare over every round of every scenario (per-round ratios),
 * or undefined when the run had no bare-again.
 */
export function noiseFloor(run: BenchRun): Spread | undefined {
  // A reference that answered nothing gives no ratio (x / 0).
  const values = run.scenarios.flatMap((sc) => ratiosBetween(run.records, sc.name, NOISE_SUBJECT, REFERENCE_SUBJECT)).filter(Number.isFinite);
  return values.length === 0 ? undefined : spread(values);
}

export function markdown(run: BenchRun, rows: SummaryRow[]): string {
  const m = run.meta;
  const pin = m.pinning.server ? `server core ${m.pinning.server}, generator + origin core ${m.pinning.load} (anyedge-Nw: cores ${m.pinning.all})` : 'none';
  const lines = [
    `# anyedge bench — ${m.startedAt}`,
    '',
    `Node ${m.node}, ${m.cpus} cores, pinning: ${pin}. ${m.durationS} s × ${m.rounds} round(s) per figure, ${m.warmupS} s warm-up${m.quick ? ' (quick)' : ''}.`,
    `Tools: ${Object.entries(m.tools ?? {}).map(([k, v]) => `${k} ${v}`).join('; ') || 'autocannon only'}.`,
    `Figures are medians over rounds (min–max); **×bare** is this subject / bare Node measured in the same round, then the median. Only ratios are comparable across runs; the machine is shared and noisy.`,
    ...(run.error ? ['', `**The run stopped on an error; results are partial:** ${run.error.split('\n')[0]}`] : []),
    '',
    ...matrix(run, rows),
    ...noiseLine(run),
    '',
    '| scenario | subject | generator | req/s | ×bare | p99 ms | p99 ×bare | non-2xx | errors |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|',
    ...rows.map((r) => `| ${r.scenario} | ${r.subject} | ${r.generator} | ${range(r.rps, f0)} | ${range(r.rpsRatio, f2)} | ${range(r.p99Ms, f2)} | ${range(r.p99Ratio, f2)} | ${r.non2xx} | ${r.errors} |`),
    '',
    '![throughput and p99 per subject and scenario, as ratios to bare](latest.svg)',
  ];
  const over = rows.filter((r) => r.scenario === 'overload');
  if (over.length) {
    lines.push('', '## Overload (2× the saturating rate)', '', '| subject | peak req/s | unloaded req/s (asked: peak / 4) | offered req/s | goodput req/s | goodput / peak | p99 unloaded ms | p99 at 2× ms | p99 ratio | p99 at 2×, not first on its connection, ms | shed (non-2xx) | not admitted (connection errors, timeouts) |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const r of over) lines.push(`| ${r.subject} | ${f0(r.extra['peakRps'] ?? Number.NaN)} | ${f0(r.extra['unloadedRps'] ?? Number.NaN)} | ${f0(r.extra['offeredRps'] ?? Number.NaN)} | ${f0(r.rps.median)} | ${f2(r.extra['goodputRatio'] ?? Number.NaN)} | ${f2(r.extra['unloadedP99Ms'] ?? Number.NaN)} | ${f2(r.p99Ms.median)} | ${f2(r.extra['p99Ratio'] ?? Number.NaN)} | ${f2(r.extra['p99LaterMs'] ?? Number.NaN)} | ${r.non2xx} | ${f0(r.extra['notAdmitted'] ?? Number.NaN)} |`);
    lines.push('', over[0]!.generator === 'wrk'
      ? 'wrk paces all connections from one schedule (a request is due every 1 / rate; a free connection sleeps until its request is due, and when every connection is busy the next free one sends at once), so at 2× every connection is busy. Its p99 is of every answer, timed from when the request was written (after the connection\'s TLS handshake and any wait before admission); the first answers on each connection are not told apart. A connection closed while it waited for admission is a connection error, not a latency sample.'
      : 'autocannon\'s overallRate gives each connection a quota per second (rate / connections) that it spends closed-loop from the start of each second, so at 2× every connection is busy; the p99 includes each connection\'s first answer (its TLS handshake, and any wait before it was admitted). A request that never got an answer (its connection was held and then closed, or timed out) is a connection error, not a latency sample.');
  }
  const tls = rows.filter((r) => r.extra['resumedFraction'] !== undefined);
  if (tls.length) {
    lines.push('', '## TLS handshakes: share of connections resumed', '', '| scenario | subject | resumed |', '|---|---|--:|');
    for (const r of tls) lines.push(`| ${r.scenario} | ${r.subject} | ${f2(r.extra['resumedFraction']!)} |`);
  }
  if (run.memory) {
    const mm = run.memory;
    const mb = (n: number): string => (Number.isFinite(n) ? (n / 1048576).toFixed(1) : '–');
    const gc = !Number.isNaN(mm.gcBefore);
    lines.push('', `## Memory: ${mm.objects.toLocaleString('en-US')} distinct 1 KiB objects in ${mm.subject}`, '',
      '| reading | heap MiB before → after | external MiB before → after | bytes / object | × payload |', '|---|--:|--:|--:|--:|',
      ...(gc ? [`| after forced GC (heapUsed + external) | ${mb(mm.gcBefore)} → ${mb(mm.gcAfter)} | ${mb(mm.externalBefore)} → ${mb(mm.externalAfter)} | ${f0(mm.bytesPerObject)} | **${f2(mm.ratioToPayload)}** |`] : []),
      `| /metrics heap used, no forced GC | ${mb(mm.metricsBefore)} → ${mb(mm.metricsAfter)} | – | ${f0((mm.metricsAfter - mm.metricsBefore) / mm.objects)} | ${f2((mm.metricsAfter - mm.metricsBefore) / mm.objects / 1024)} |`,
      '', `Sample answered from cache afterwards: ${f2(mm.sampleHitFraction)}; fill took ${f2(mm.fillSeconds)} s.${mm.note ? ` ${mm.note}` : ''}`);
  }
  if (run.paired?.length) {
    const w = run.paired[0]!.windowS;
    lines.push('', '## Side by side: paired windows', '', `After the rounds, both subjects of each pair up at once and loaded in turn for ${w} s windows, A B B A; each pair of windows gives one ratio, (B1 + B2) / (A1 + A2), so a drift of the machine's speed within a pair cancels. The A/A pair (bare-again / bare) shows what this method cannot resolve.`, '',
      '| pair (B / A) | scenario | generator | B / A median (min–max) | pairs | A req/s (median window) | B req/s (median window) |', '|---|---|---|--:|--:|--:|--:|');
    for (const p of run.paired) lines.push(`| ${p.label} | ${p.scenario} | ${p.generator} | ${range(p.ratio, f2)} | ${p.ratio.n} | ${f0(spread(p.aRps).median)} | ${f0(spread(p.bRps).median)} |`);
  }
  const t = targets(run, rows);
  if (t.length) {
    lines.push('', '## Targets from the issue (benchmarks, not tests)', '', '| target | measured | goal | met | A/A in that scenario (bare-again / bare) |', '|---|--:|---|---|---|');
    for (const x of t) {
      const met = x.met === undefined ? 'n/a (objects were not cached)' : `${x.met ? 'yes' : 'no'}${x.withinNoise ? ', within noise' : ''}`;
      lines.push(`| ${x.what} | ${f2(x.value)} | ${x.goal} | ${met} | ${x.noise ? `${f2(x.noise.min)}–${f2(x.noise.max)}` : '–'} |`);
    }
    if (t.some((x) => x.noise)) lines.push('', '"Within noise": measured / goal lies inside the range two identical servers moved apart in that scenario in this run (for the paired rows: the paired A/A, measured the same way), so the run cannot tell the figure from its goal.');
  }
  lines.push('', '## Subjects', '', ...run.subjects.map((s) => `- **${s.name}**: ${s.description}`));
  lines.push('', '## Scenarios and generators', '', ...run.scenarios.map((s) => `- **${s.name}** (${m.generators[s.name]}): ${s.title}`));
  lines.push('', 'Generators: autocannon (Node, 1 thread) for HTTP/1.1; wrk (C) for the wrk row, which peers can saturate autocannon on, and for overload when installed; h2load for h2 (autocannon has no h2; percentiles from its per-request log); tls-loop (bench/load/tls-loop-child.ts, node:tls) for a new connection per request — it does as much handshake crypto as the server, so TLS rows are bounded by the client core too.');
  if (run.notes.length) lines.push('', '## Notes', '', ...run.notes.map((n) => `- ${n}`));
  lines.push('');
  return lines.join('\n');
}

export function writeReport(run: BenchRun, outDir: string): { json: string; md: string; svg: string } {
  mkdirSync(outDir, { recursive: true });
  const rows = summarize(run);
  const stamp = run.meta.startedAt.replace(/[:.]/g, '-');
  const json = JSON.stringify({ ...run, summary: rows, targets: targets(run, rows) }, null, 2);
  const md = markdown(run, rows);
  const svg = chartSvg(run, rows);
  const paths = { json: join(outDir, `${stamp}.json`), md: join(outDir, `${stamp}.md`), svg: join(outDir, `${stamp}.svg`) };
  writeFileSync(paths.json, json);
  writeFileSync(paths.md, md.replace('](latest.svg)', `](${stamp}.svg)`));
  writeFileSync(paths.svg, svg);
  writeFileSync(join(outDir, 'latest.json'), json);
  writeFileSync(join(outDir, 'latest.md'), md);
  writeFileSync(join(outDir, 'latest.svg'), svg);
  return paths;
}
