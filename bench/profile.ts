// `--profile DIR`: anyedge runs under `node --cpu-prof` (its cluster workers inherit the
// flag), and each .cpuprofile it leaves is summarised next to it:
//   <profile>.txt     where the busy time went: top functions by self and by inclusive time
//   <profile>.folded  collapsed stacks ("root;caller;callee samples"), the input of
//                     flamegraph.pl, inferno and speedscope: the flame graph
// The .cpuprofile itself opens in Chrome DevTools (Performance) or speedscope as a flame chart.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Microseconds sampled, and of those not idle (the process waiting for work). */
  totalUs: number;
  busyUs: number;
  /** [frame, share of busy time], largest first. */
  self: [string, number][];
  inclusive: [string, number][];
  /** Collapsed stacks, one line per distinct stack: "root;…;leaf microseconds". */
  folded: string[];
}

/** Frames that are not work: the event loop waiting, and the profiler's own root. */
const NOT_WORK = new Set(['(idle)', '(root)']);

function frameName(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url === '' ? '' : ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'}${file}`;
}

export function summariseProfile(p: CpuProfile, top = 30): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeOf = new Map<number, number>();
  p.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + Math.max(0, p.timeDeltas[i] ?? 0)));

  let totalUs = 0;
  let busyUs = 0;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const folded = new Map<string, number>();
  for (const [id, us] of timeOf) {
    const node = byId.get(id);
    if (node === undefined || us === 0) continue;
    totalUs += us;
    const leaf = frameName(node);
    if (node.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    self.set(leaf, (self.get(leaf) ?? 0) + us);
    const stack: string[] = [];
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      const name = frameName(n);
      if (n.callFrame.functionName !== '(root)') stack.push(name);
      // A recursive frame counts once per sample in inclusive time.
      if (!seen.has(name) && !NOT_WORK.has(n.callFrame.functionName)) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      seen.add(name);
    }
    const line = stack.reverse().map((s) => s.replace(/[;\s]+/g, '_')).join(';');
    folded.set(line, (folded.get(line) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>): [string, number][] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, busyUs === 0 ? 0 : v / busyUs]);
  return {
    totalUs,
    busyUs,
    self: ranked(self),
    inclusive: ranked(inclusive),
    folded: [...folded].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v)}`),
  };
}

export function formatSummary(name: string, s: ProfileSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1).padStart(5)} %`;
  return [
    `${name}: ${(s.totalUs / 1e6).toFixed(2)} s sampled, ${(s.busyUs / 1e6).toFixed(2)} s busy (${pct(s.totalUs === 0 ? 0 : s.busyUs / s.totalUs).trim()}); shares below are of busy time`,
    '',
    'self (time in the function itself):',
    ...s.self.map(([k, v]) => `${pct(v)}  ${k}`),
    '',
    'inclusive (time in the function and what it called):',
    ...s.inclusive.map(([k, v]) => `${pct(v)}  ${k}`),
    '',
  ].join('\n');
}

/** Writes <file>.txt and <file>.folded beside every .cpuprofile under dir (one level of subdirectories). Returns the .txt paths. */
export function summariseProfiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p)) if (f.endsWith('.cpuprofile')) files.push(join(p, f));
    } else if (entry.endsWith('.cpuprofile')) {
      files.push(p);
    }
  }
  const written: string[] = [];
  for (const f of files.sort()) {
    const s = summariseProfile(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
    writeFileSync(`${f}.txt`, formatSummary(f, s));
    writeFileSync(`${f}.folded`, `${s.folded.join('\n')}\n`);
    written.push(`${f}.txt`);
  }
  return written;
}
