// Running one scenario: restore the baseline, watch each region router's kernel table
// (`ip monitor route`), start the load runners in the client namespaces, let the scenario
// inject its fault on the run's clock, collect, and write the JSON and the SVG.
//
// Load is bounded by the runners' own deadlines; a killed run leaves nothing that the next
// run's restore or `lab down` misses.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LAB_SCRIPTS, effectiveNodeOf, parseKernelRoutes, type LabControl, type RouterRoute } from './control.js';
import { sleep, waitUntil } from './netns.js';
import { failuresBetween, firstMoveAfter, perSecond, svgChart, totalsByNode, type Marker, type StreamData } from './report.js';
import { restore } from './restore.js';
import { parseRunnerLine } from './samples.js';
import { SCENARIOS, type ScenarioDef, type ScenarioName, type StreamSpec } from './scenarios.js';
import { ANYCAST_ADDRESS, ANYCAST_NAME, nodeByLinkAddress, regionByName, type RegionName } from './topology.js';

// ---- a run -------------------------------------------------------------------------------

export interface RouteEvent { ts: number; region: RegionName; node: string | undefined }

export class RunningStream {
  readonly spec: StreamSpec;
  readonly data: StreamData;
  readonly child: ChildProcess;
  readonly started: Promise<number>;
  readonly done: Promise<void>;
  stderr = '';

  constructor(lab: LabControl, spec: StreamSpec, end: { duration: number } | { until: number }) {
    this.spec = spec;
    this.data = { name: spec.name, region: spec.region, engine: spec.engine, slices: [], changes: [], fails: [], total: 0, failed: 0, retried: 0 };
    const ns = regionByName(lab.topology, spec.region).clientNs;
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, LAB_SCRIPTS.loadRunner,
      '--engine', spec.engine, '--url', `https://${ANYCAST_ADDRESS}/cacheable`, '--host', ANYCAST_NAME, '--ca', lab.caFile,
      '--connections', String(spec.connections), '--rate', String(spec.rate),
      ...('until' in end ? ['--until', String(end.until)] : ['--duration', String(end.duration)]),
      '--timeout', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let resolveStart!: (ts: number) => void;
    this.started = new Promise((r) => { resolveStart = r; });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-4000); });
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => {
      const l = parseRunnerLine(line);
      if (!l) return;
      switch (l.type) {
        case 'start': resolveStart(l.ts); break;
        case 'slice': this.data.slices.push(l); break;
        case 'change': this.data.changes.push(l); break;
        case 'fail': this.data.fails.push(l); break;
        case 'done': Object.assign(this.data, { total: l.total, failed: l.failed, retried: l.retried }); break;
        default: break;
      }
    });
    this.done = new Promise((resolve) => {
      this.child.once('exit', () => { resolveStart(Date.now()); resolve(); });
      this.child.once('error', () => { resolveStart(Date.now()); resolve(); });
    });
  }
}

/** `ip monitor route` in a region router: every change of the node its clients reach. */
class RouteMonitor {
  readonly child: ChildProcess;
  readonly #table = new Map<string, string | undefined>();
  #current: string | undefined;

  constructor(lab: LabControl, region: RegionName, initial: Array<{ prefix: string; node: string | undefined; via: string }>, onChange: (e: RouteEvent) => void) {
    for (const r of initial) this.#table.set(r.prefix, r.node);
    this.#current = this.#effective();
    this.child = spawn('ip', ['-n', regionByName(lab.topology, region).routerNs, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const ts = Date.now();
      const deleted = line.startsWith('Deleted ');
      const [r] = parseKernelRoutes(deleted ? line.slice(8) : line, (a) => nodeByLinkAddress(lab.topology, a));
      if (!r) return;
      if (deleted) {
        if (this.#table.get(r.prefix) === r.node) this.#table.delete(r.prefix);
      } else {
        this.#table.set(r.prefix, r.node);
      }
      const now = this.#effective();
      if (now !== this.#current) {
        this.#current = now;
        onChange({ ts, region, node: now });
      }
    });
  }

  #effective(): string | undefined {
    return effectiveNodeOf([...this.#table.entries()].map(([prefix, node]) => ({ prefix, node, via: '' })));
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

export class Run {
  readonly lab: LabControl;
  readonly duration: number;
  readonly streams: RunningStream[] = [];
  readonly routeEvents: RouteEvent[] = [];
  readonly markers: Array<Marker & { ts: number }> = [];
  /** What a scenario's act() leaves for its judge(). */
  readonly scratch: Record<string, unknown> = {};
  readonly log: (msg: string) => void;
  t0 = Date.now();
  faultTs: number | undefined;

  constructor(lab: LabControl, duration: number, log: (msg: string) => void) {
    this.lab = lab;
    this.duration = duration;
    this.log = log;
  }

  elapsed(): number { return Date.now() - this.t0; }
  remaining(): number { return Math.max(0, this.t0 + this.duration - Date.now()); }

  /** When the fault comes: 30 % into the run (at least 2 s of steady state first). */
  faultAt(fraction = 0.3): number {
    return Math.max(2000, Math.round(this.duration * fraction));
  }

  async at(ms: number): Promise<void> {
    const wait = this.t0 + ms - Date.now();
    if (wait > 0) await sleep(wait);
  }

  marker(kind: Marker['kind'], label: string, ts = Date.now()): number {
    this.markers.push({ kind, label, ts, atMs: ts - this.t0 });
    return ts;
  }

  fault(label: string): number {
    const ts = this.marker('fault', label);
    this.faultTs ??= ts;
    this.log(`  +${((ts - this.t0) / 1000).toFixed(1)}s fault: ${label}`);
    return ts;
  }

  event(label: string, quiet = false): number {
    const ts = this.marker('event', label);
    if (!quiet) this.log(`  +${((ts - this.t0) / 1000).toFixed(1)}s ${label}`);
    return ts;
  }

  /** Starts load that ends with the run (`first`: the streams that define the run's start). */
  startStream(spec: StreamSpec, first = false): RunningStream {
    const s = new RunningStream(this.lab, spec, first ? { duration: this.duration } : { until: this.t0 + this.duration });
    this.streams.push(s);
    return s;
  }

  /** Waits until the region's kernel route leaves `from`; resolves its time, or undefined. */
  async waitRouteMove(region: RegionName, from: string, timeout: number): Promise<number | undefined> {
    const since = Date.now();
    try {
      return await waitUntil(`${region} to leave ${from}`, () => this.routeEvents.find((e) => e.region === region && e.ts >= since && e.node !== from)?.ts, { timeout, every: 10 });
    } catch {
      return undefined;
    }
  }
}

// ---- running one ---------------------------------------------------------------------------

export interface ScenarioResult {
  json: Record<string, unknown>;
  text: string;
  files: { json: string; svg: string };
}

export interface RunOptions {
  duration?: number;
  resultsDir: string;
  log?: (msg: string) => void;
}

export async function runScenario(lab: LabControl, name: ScenarioName, opts: RunOptions): Promise<ScenarioResult> {
  const def = SCENARIOS[name];
  const log = opts.log ?? (() => {});
  const duration = opts.duration ?? def.defaultDuration;
  log(`${name}: restoring the baseline (every node up, routes plain, each region on its home node) …`);
  await restore(lab, { converge: true });

  const run = new Run(lab, duration, log);
  const monitors: RouteMonitor[] = [];
  const before: Record<string, RouterRoute[]> = {};
  try {
    for (const r of lab.topology.regions) {
      before[r.name] = await lab.routerRoutes(r.name);
      monitors.push(new RouteMonitor(lab, r.name, await lab.kernelRoutes(r.name), (e) => {
        run.routeEvents.push(e);
        if (run.faultTs !== undefined) run.marker('route', `${e.region} → ${e.node ?? 'no route'}`, e.ts);
      }));
    }
    await sleep(100); // let `ip monitor` subscribe before anything can change
    log(`${name}: ${def.summary}; ${duration / 1000}s of load`);
    for (const spec of def.streams) run.startStream(spec, true);
    run.t0 = Math.min(...(await Promise.all(run.streams.map((s) => s.started))));
    await def.act(run);
    await Promise.race([Promise.all(run.streams.map((s) => s.done)), sleep(run.remaining() + 15_000)]);
    for (const s of run.streams) {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
      else if (s.child.exitCode !== 0) log(`  load runner ${s.spec.name} exited ${s.child.exitCode}: ${s.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
  } finally {
    for (const m of monitors) m.stop();
  }
  const after: Record<string, RouterRoute[]> = {};
  for (const r of lab.topology.regions) after[r.name] = await lab.routerRoutes(r.name).catch(() => []);

  const result = summarise(run, name, def, before, after, opts.resultsDir);
  log(`${name}: restoring the lab …`);
  await restore(lab, { converge: false }).catch((err: unknown) => log(`restore: ${(err as Error).message}`));
  return result;
}

function summarise(run: Run, name: ScenarioName, def: ScenarioDef, before: Record<string, RouterRoute[]>, after: Record<string, RouterRoute[]>, resultsDir: string): ScenarioResult {
  const lab = run.lab;
  const data = run.streams.map((s) => s.data);
  const failed = data.reduce((a, s) => a + s.failed, 0);
  const total = data.reduce((a, s) => a + s.total, 0);
  const retried = data.reduce((a, s) => a + s.retried, 0);
  const faultTs = run.faultTs ?? run.t0;

  // The affected region's move, as its clients saw it (first answer from another node) and
  // as its router did (first change of the kernel route).
  const affected = { region: def.region, from: regionByName(lab.topology, def.region).home };
  const probes = data.filter((s) => s.region === affected.region && s.engine === 'probe');
  const move = firstMoveAfter(probes, faultTs, affected.from);
  const switchMs = move?.atMs;
  const movedTo = move?.to;
  const route = run.routeEvents.find((e) => e.region === affected.region && e.ts >= faultTs && e.node !== affected.from);
  const routeChangeMs = route ? route.ts - faultTs : undefined;
  const verdict = def.judge(run, { failed, switchMs, movedTo, routeChangeMs });
  for (const m of verdict.markers ?? []) run.marker('event', m.label, m.ts);
  const affectedStreams = data.filter((s) => s.region === affected.region);
  const window = failuresBetween(affectedStreams, faultTs, run.t0 + run.duration + 10_000);

  const nodes = lab.topology.nodes.map((n) => n.name);
  const rows = perSecond(data, run.t0, run.duration);
  const stamp = new Date(run.t0).toISOString().replace(/[:.]/g, '-');
  const base = `${name}-${lab.state.options.speaker}${lab.state.options.bfd ? '-bfd' : ''}-${stamp}`;
  mkdirSync(resultsDir, { recursive: true });
  const files = { json: join(resultsDir, `${base}.json`), svg: join(resultsDir, `${base}.svg`) };
  const markers = [...run.markers].sort((a, b) => a.ts - b.ts).map(({ kind, label, atMs }) => ({ kind, label, atMs }));

  const json: Record<string, unknown> = {
    scenario: name,
    summary: def.summary,
    target: { description: def.target, met: verdict.met },
    lab: { name: lab.state.lab, nodes: lab.state.options.nodes, speaker: lab.state.options.speaker, bfd: lab.state.options.bfd },
    startedAt: new Date(run.t0).toISOString(),
    durationMs: run.duration,
    faultAtMs: run.faultTs === undefined ? null : run.faultTs - run.t0,
    totalRequests: total,
    failedRequests: failed,
    // Browser-like clients (retry a reset once) versus floods (autocannon: no retries).
    failedRequestsBy: { clients: sumFailed(data, 'probe'), floods: sumFailed(data, 'flood') },
    retriedRequests: retried,
    switchMs: switchMs ?? null,
    routeChangeMs: routeChangeMs ?? null,
    affected: { region: affected.region, from: affected.from, to: movedTo ?? null },
    failuresInAffectedRegion: window,
    // The longest stretch after the fault in which the affected region's clients got no answer.
    longestGapMs: run.faultTs === undefined ? null : longestGap(affectedStreams.filter((x) => x.engine === 'probe'), faultTs, run.t0 + run.duration),
    // The affected region at the load runners' resolution (100 ms), around the fault.
    aroundFault: run.faultTs === undefined ? [] : slicesAround(affectedStreams, faultTs, -500, Math.min(4000, (switchMs ?? 2500) + 1000)),
    perNode: totalsByNode(data),
    perSecond: rows.map((r) => ({ t: r.t, ...Object.fromEntries(nodes.map((n) => [n, r.nodes[n] ?? 0])), failed: r.failed, retried: r.retried })),
    streams: data.map((s) => ({
      name: s.name, region: s.region, engine: s.engine, total: s.total, failed: s.failed, retried: s.retried,
      perNode: totalsByNode([s]), errors: errorCounts(s),
    })),
    router: {
      before: routesView(before),
      after: routesView(after),
      changes: run.routeEvents.map((e) => ({ atMs: e.ts - run.t0, region: e.region, node: e.node ?? null })),
    },
    markers,
    details: verdict.details ?? {},
    files,
  };
  writeFileSync(files.json, `${JSON.stringify(json, null, 2)}\n`);
  const sub = [
    def.summary,
    `${lab.state.options.nodes} nodes, ${lab.state.options.speaker}${lab.state.options.bfd ? ' + BFD' : ''}; ${total} requests, ${failed} failed, ${retried} retried${switchMs !== undefined ? `; ${affected.region} moved after ${switchMs} ms` : ''}; target ${verdict.met ? 'met' : 'NOT met'}`,
  ];
  writeFileSync(files.svg, svgChart({ title: `anyedge lab: ${name}`, subtitle: sub, rows, nodes, markers }));

  const text = [
    `${name}: ${def.summary}`,
    `  target: ${def.target} → ${verdict.met ? 'MET' : 'NOT MET'}`,
    `  requests: ${total} total, ${failed} failed (clients ${sumFailed(data, 'probe')}, floods ${sumFailed(data, 'flood')}), ${retried} retried on a new connection`,
    `  ${affected.region}: ${affected.from} → ${movedTo ?? '(did not move)'}${switchMs !== undefined ? ` after ${switchMs} ms` : ''}${routeChangeMs !== undefined ? ` (router's kernel route changed after ${routeChangeMs} ms)` : ''}`,
    `  per node: ${Object.entries(totalsByNode(data)).map(([n, c]) => `${n} ${c}`).join(', ')}`,
    ...Object.entries(verdict.details ?? {}).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    `  report: ${files.json}`,
    `          ${files.svg}`,
  ].filter(Boolean).join('\n');
  return { json, text, files };
}

function longestGap(streams: StreamData[], from: number, to: number): number {
  const ok = new Map<number, number>();
  let sliceMs = 100;
  for (const s of streams) {
    for (const sl of s.slices) ok.set(sl.ts, (ok.get(sl.ts) ?? 0) + Object.values(sl.ok).reduce((a, b) => a + b, 0));
    if (s.slices.length > 1) sliceMs = s.slices[1]!.ts - s.slices[0]!.ts;
  }
  let longest = 0;
  let run = 0;
  for (const ts of [...ok.keys()].sort((a, b) => a - b)) {
    if (ts + sliceMs <= from || ts >= to) continue;
    run = ok.get(ts) === 0 ? run + sliceMs : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

function slicesAround(streams: StreamData[], at: number, fromMs: number, toMs: number): Array<Record<string, number>> {
  const rows = new Map<number, Record<string, number>>();
  for (const s of streams) {
    for (const sl of s.slices) {
      const rel = sl.ts - at;
      if (rel < fromMs - 100 || rel > toMs) continue;
      const key = Math.round(rel / 100) * 100;
      const row = rows.get(key) ?? { atMs: key };
      for (const [n, c] of Object.entries(sl.ok)) row[n] = (row[n] ?? 0) + c;
      if (sl.failed) row['failed'] = (row['failed'] ?? 0) + sl.failed;
      if (sl.retried) row['retried'] = (row['retried'] ?? 0) + sl.retried;
      rows.set(key, row);
    }
  }
  return [...rows.values()].sort((a, b) => a['atMs']! - b['atMs']!);
}

function sumFailed(data: StreamData[], engine: StreamData['engine']): number {
  return data.filter((s) => s.engine === engine).reduce((a, s) => a + s.failed, 0);
}

function errorCounts(s: StreamData): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sl of s.slices) for (const [k, v] of Object.entries(sl.errors)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function routesView(routes: Record<string, RouterRoute[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(routes).map(([r, list]) => [r, list.map((x) => `${x.prefix} from ${x.from}${x.best ? ' (best)' : ''} path [${x.asPath}]`)]));
}
