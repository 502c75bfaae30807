// A dependency-free SVG chart: for each scenario, one bar per subject for throughput and one
// for p99, both as the ratio to bare Node in the same round (scenarios differ by orders of
// magnitude, ratios do not); the absolute median is written on each bar.
import type { BenchRun } from './harness.js';
import type { SummaryRow } from './report.js';

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Panel { title: string; value: (r: SummaryRow) => number; label: (r: SummaryRow) => string }

export function chartSvg(run: BenchRun, rows: SummaryRow[]): string {
  const subjects = run.subjects.map((s) => s.name);
  const scenarios = run.scenarios.map((s) => s.name).filter((n) => rows.some((r) => r.scenario === n));
  const bar = 14;
  const groupGap = 24;
  const left = 60;
  const panelH = 220;
  const groupW = subjects.length * bar + groupGap;
  const width = Math.max(600, left + scenarios.length * groupW + 20);
  const panels: Panel[] = [
    { title: 'throughput, × bare (higher is better; label: req/s)', value: (r) => r.rpsRatio.median, label: (r) => (r.rps.median >= 1000 ? `${(r.rps.median / 1000).toFixed(1)}k` : r.rps.median.toFixed(0)) },
    { title: 'p99 latency, × bare (lower is better; label: ms)', value: (r) => r.p99Ratio.median, label: (r) => r.p99Ms.median.toFixed(1) },
  ];
  const legendH = 24 + Math.ceil(subjects.length / 6) * 18;
  const height = 40 + panels.length * (panelH + 90) + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(`anyedge bench ${run.meta.startedAt} — median of ${run.meta.rounds} round(s), ${run.meta.durationS} s each`)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const top = 40 + pi * (panelH + 90);
    const base = top + panelH;
    const values = rows.map(p.value).filter(Number.isFinite);
    const max = Math.max(1.2, Math.min(20, Math.max(...values, 1) * 1.1));
    const y = (v: number): number => Math.round((base - (Math.min(v, max) / max) * (panelH - 20)) * 10) / 10;
    out.push(`<text x="${left}" y="${top + 4}" font-size="12" font-weight="bold">${esc(p.title)}</text>`);
    for (const t of [0, 0.5, 1, 1.5, 2, 3, 5, 10, 20].filter((v) => v <= max)) {
      out.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" stroke="${t === 1 ? '#333' : '#ddd'}" stroke-dasharray="${t === 1 ? '4 2' : ''}"/>`);
      out.push(`<text x="${left - 8}" y="${y(t) + 4}" text-anchor="end">${t}×</text>`);
    }
    scenarios.forEach((sc, si) => {
      const gx = left + si * groupW + groupGap / 2;
      subjects.forEach((su, ui) => {
        const r = rows.find((x) => x.scenario === sc && x.subject === su);
        if (!r) return;
        const v = p.value(r);
        if (!Number.isFinite(v)) return;
        const x = gx + ui * bar;
        out.push(`<rect x="${x}" y="${y(v)}" width="${bar - 2}" height="${base - y(v)}" fill="${COLORS[ui % COLORS.length]}"><title>${esc(`${sc} · ${su}: ${v.toFixed(2)}× bare (${p.label(r)})`)}</title></rect>`);
        out.push(`<text transform="translate(${x + bar / 2 + 3},${y(v) - 3}) rotate(-90)" font-size="9">${esc(p.label(r))}</text>`);
      });
      out.push(`<text transform="translate(${gx},${base + 12}) rotate(20)" font-size="10">${esc(sc)}</text>`);
    });
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${base}" y2="${base}" stroke="#333"/>`);
  });
  const ly = height - legendH + 8;
  subjects.forEach((su, i) => {
    const x = left + (i % 6) * 150;
    const yy = ly + Math.floor(i / 6) * 18;
    out.push(`<rect x="${x}" y="${yy}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 16}" y="${yy + 10}">${esc(su)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
