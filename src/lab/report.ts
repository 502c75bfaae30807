// What a scenario measured, as numbers and as a picture: load-runner slices folded into
// per-second requests per node, the time until traffic moved, and an SVG chart (drawn here,
// no dependency) with the fault and the route change marked. Pure functions.
import type { ChangeLine, FailLine, SliceLine } from './samples.js';

export interface StreamData {
  name: string;
  region: string;
  engine: 'probe' | 'flood';
  slices: SliceLine[];
  changes: ChangeLine[];
  fails: FailLine[];
  total: number;
  failed: number;
  retried: number;
}

export interface SecondRow {
  /** Seconds since the scenario started. */
  t: number;
  /** Successful responses per node in this second. */
  nodes: Record<string, number>;
  failed: number;
  retried: number;
}

export interface Marker {
  /** Milliseconds since the scenario started. */
  atMs: number;
  label: string;
  kind: 'fault' | 'route' | 'event';
}

/** Per-second rows over all given streams, from second 0 to the end of the run. */
export function perSecond(streams: readonly StreamData[], t0: number, durationMs: number): SecondRow[] {
  const n = Math.max(1, Math.ceil(durationMs / 1000));
  const rows: SecondRow[] = Array.from({ length: n }, (_, t) => ({ t, nodes: {}, failed: 0, retried: 0 }));
  for (const s of streams) {
    for (const sl of s.slices) {
      const row = rows[Math.floor((sl.ts - t0) / 1000)];
      if (!row) continue; // before the start or after the end

      for (const [node, c] of Object.entries(sl.ok)) row.nodes[node] = (row.nodes[node] ?? 0) + c;
      row.failed += sl.failed;
      row.retried += sl.retried;
    }
  }
  return rows;
}

export function totalsByNode(streams: readonly StreamData[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of streams) for (const sl of s.slices) for (const [node, c] of Object.entries(sl.ok)) out[node] = (out[node] ?? 0) + c;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Milliseconds from `since` until the first response from a node other than `from` in the
 * given streams; undefined when traffic never moved.
 */
export function firstMoveAfter(streams: readonly StreamData[], since: number, from: string): { atMs: number; to: string } | undefined {
  let best: ChangeLine | undefined;
  for (const s of streams) {
    for (const c of s.changes) {
      if (c.ts >= since && c.to !== from && c.to !== 'unknown' && (!best || c.ts < best.ts)) best = c;
    }
  }
  return best ? { atMs: best.ts - since, to: best.to } : undefined;
}

/** Share of successful responses that came from `node` within [from, to) (epoch ms). */
export function shareOf(streams: readonly StreamData[], node: string, from: number, to: number): number {
  let mine = 0;
  let all = 0;
  for (const s of streams) {
    for (const sl of s.slices) {
      if (sl.ts < from || sl.ts >= to) continue;
      for (const [n, c] of Object.entries(sl.ok)) {
        all += c;
        if (n === node) mine += c;
      }
    }
  }
  return all === 0 ? 0 : mine / all;
}

/** Failures within [from, to) (epoch ms): count and the span from the first to the last. */
export function failuresBetween(streams: readonly StreamData[], from: number, to: number): { count: number; firstMs?: number; lastMs?: number } {
  let count = 0;
  let first: number | undefined;
  let last: number | undefined;
  for (const s of streams) {
    for (const f of s.fails) {
      if (f.ts < from || f.ts >= to) continue;
      count++;
      first = first === undefined ? f.ts : Math.min(first, f.ts);
      last = last === undefined ? f.ts : Math.max(last, f.ts);
    }
  }
  return { count, ...(first === undefined ? {} : { firstMs: first - from, lastMs: last! - from }) };
}

// ---- the chart ---------------------------------------------------------------------------

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
const MARKER_COLOURS: Record<Marker['kind'], string> = { fault: '#d62728', route: '#1f4e9c', event: '#555555' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A line chart of requests per second per node (and failed), with numbered vertical markers
 * listed under the plot (fault in red, route changes in blue, other events in grey).
 */
export function svgChart(opts: { title: string; subtitle?: string[]; rows: readonly SecondRow[]; nodes: readonly string[]; markers: readonly Marker[] }): string {
  const W = 960;
  const seconds = Math.max(1, opts.rows.length);
  const markers = [...opts.markers].filter((mk) => mk.atMs >= 0 && mk.atMs <= seconds * 1000).sort((a, b) => a.atMs - b.atMs);
  const shown = markers.slice(0, 14);
  const subtitle = opts.subtitle ?? [];
  const m = { l: 64, r: 130, t: 40 + subtitle.length * 16, b: 48 };
  const ph = 300;
  const pw = W - m.l - m.r;
  const twoColumns = shown.every((mk) => mk.label.length <= 48);
  const H = m.t + ph + m.b + 8 + (twoColumns ? Math.ceil(shown.length / 2) : shown.length) * 16 + (markers.length > shown.length ? 16 : 0);
  const maxY = niceMax(Math.max(1, ...opts.rows.flatMap((r) => [...Object.values(r.nodes), r.failed])));
  // A value for second t is drawn at the middle of that second.
  const x = (sec: number): number => m.l + (sec / seconds) * pw;
  const y = (v: number): number => m.t + ph - (v / maxY) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.l}" y="22" font-size="16" font-weight="600">${esc(opts.title)}</text>`);
  subtitle.forEach((line, i) => parts.push(`<text x="${m.l}" y="${40 + i * 16}" fill="#555">${esc(line)}</text>`));
  // Grid and axes.
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#333">${Math.round(v)}</text>`);
  }
  const step = seconds <= 20 ? 1 : seconds <= 60 ? 5 : 10;
  for (let sec = 0; sec <= seconds; sec += step) {
    parts.push(`<line x1="${x(sec).toFixed(1)}" x2="${x(sec).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(sec).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle" fill="#333">${sec}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#333"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 36}" text-anchor="middle" fill="#333">seconds</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests per second</text>`);
  // Series.
  const series = [
    ...opts.nodes.map((n, i) => ({ label: n, colour: PALETTE[i % PALETTE.length]!, dash: '', values: opts.rows.map((r) => r.nodes[n] ?? 0) })),
    { label: 'failed', colour: '#000000', dash: ' stroke-dasharray="4 3"', values: opts.rows.map((r) => r.failed) },
  ];
  series.forEach((sr, i) => {
    const pts = sr.values.map((v, t) => `${x(t + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${sr.colour}" stroke-width="2"${sr.dash} points="${pts}"/>`);
    const ly = m.t + 10 + i * 18;
    parts.push(`<line x1="${m.l + pw + 16}" x2="${m.l + pw + 40}" y1="${ly}" y2="${ly}" stroke="${sr.colour}" stroke-width="2"${sr.dash}/>`);
    parts.push(`<text x="${m.l + pw + 46}" y="${ly + 4}">${esc(sr.label)}</text>`);
  });
  // Markers: a numbered dashed line each; the numbers are explained under the plot.
  shown.forEach((mk, i) => {
    const mx = x(mk.atMs / 1000);
    const c = MARKER_COLOURS[mk.kind];
    parts.push(`<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" stroke="${c}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${(mx + 3).toFixed(1)}" y="${m.t + 12 + (i % 3) * 13}" fill="${c}" font-weight="600">${i + 1}</text>`);
    const col = twoColumns ? i % 2 : 0;
    const ly = m.t + ph + m.b + 12 + (twoColumns ? Math.floor(i / 2) : i) * 16;
    parts.push(`<text x="${m.l + col * (pw / 2 + 40)}" y="${ly}" fill="${c}">${i + 1}  +${(mk.atMs / 1000).toFixed(2)} s  ${esc(mk.label)}</text>`);
  });
  if (markers.length > shown.length) {
    parts.push(`<text x="${m.l}" y="${H - 6}" fill="#555">… and ${markers.length - shown.length} more events (see the JSON)</text>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}
