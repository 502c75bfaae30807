// Runs a bench: resolves subjects and scenarios, sets up the shared origin, certificate and
// static file, then for each round starts each subject (order alternating by round), runs
// every scenario it can take, and stops it. Every figure is kept per round with the bare
// Node server's figure from the same round, so ratios compare runs made side by side. Then,
// unless --pairs 0, the targets again in paired windows (paired.ts): both subjects of a pair
// up at once, loaded in turn, A B B A.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bodyOf } from './body.js';
import { generatorAvailable, runLoad } from './load/generators.js';
import type { GeneratorName, LoadResult, LoadSpec } from './load/types.js';
import { runMemory, type MemoryResult } from './memory.js';
import { goodput, measurePairs, planPairs, type PairedResult } from './paired.js';
import { REPO_ROOT, childScript } from './paths.js';
import { createBenchPki } from './pki.js';
import { BenchError, ProcessSet, hasBinary, type Managed } from './processes.js';
import { MEMORY_SCENARIO, SCENARIOS, type Scenario } from './scenarios/index.js';
import { REFERENCE_SUBJECT, SUBJECTS } from './subjects/index.js';
import { settleReadyz } from './subjects/readiness.js';
import type { CpuPlan, RunningSubject, SubjectContext, SubjectDef } from './subjects/types.js';

export interface BenchOptions {
  /** Scenario names; default: all (or the quick set). */
  scenarios?: string[];
  /** Subject names; default: all, skipping those whose binary is missing. */
  subjects?: string[];
  durationS: number;
  warmupS: number;
  rounds: number;
  quick: boolean;
  /** Objects for the memory scenario. */
  memoryObjects: number;
  /** A B B A pairs per target in the paired phase (0: none). */
  pairs?: number;
  /** Seconds per paired window (default 2). */
  pairWindowS?: number;
  /** Run anyedge under --cpu-prof, its profiles in this directory (run.ts --profile). */
  profileDir?: string;
  /** Extra subject definitions (tests). */
  extraSubjects?: SubjectDef[];
  log?: (line: string) => void;
}

export interface RunRecord {
  round: number;
  scenario: string;
  subject: string;
  result: LoadResult;
}

export interface BenchRun {
  meta: {
    startedAt: string;
    finishedAt: string;
    node: string;
    cpus: number;
    pinning: CpuPlan;
    durationS: number;
    warmupS: number;
    rounds: number;
    quick: boolean;
    /** Which generator measured each scenario. */
    generators: Record<string, GeneratorName>;
    /** Versions of the external tools found. */
    tools: Record<string, string>;
  };
  subjects: Array<{ name: string; description: string }>;
  scenarios: Array<{ name: string; title: string }>;
  notes: string[];
  records: RunRecord[];
  memory?: MemoryResult;
  /** The targets in paired windows (paired.ts), when the run had them. */
  paired?: PairedResult[];
  /** Every pid started or seen as a child (the test checks none survives). */
  pids: number[];
  /** Set when the run stopped on an error (the partial results are still written). */
  error?: string;
}

export function resolveSubjects(names: string[] | undefined, extra: SubjectDef[] = [], quick = false): { subjects: SubjectDef[]; notes: string[] } {
  const all = [...SUBJECTS, ...extra];
  const notes: string[] = [];
  if (names === undefined) {
    const subjects = all.filter((s) => {
      if (s.optional || (quick && s.noiseFloor)) return false;
      const missing = s.requires.filter((b) => !hasBinary(b));
      if (missing.length) notes.push(`subject ${s.name} skipped: ${missing.join(', ')} not installed (Debian: apt-get install ${missing.join(' ')})`);
      return missing.length === 0;
    });
    return { subjects, notes };
  }
  const subjects: SubjectDef[] = [];
  for (const n of names) {
    const s = all.find((d) => d.name === n);
    if (!s) throw new BenchError(n, `unknown subject (known: ${all.map((d) => d.name).join(', ')})`);
    const missing = s.requires.filter((b) => !hasBinary(b));
    if (missing.length) throw new BenchError(n, `needs ${missing.join(', ')}, which is not installed (Debian: apt-get install ${missing.join(' ')})`);
    subjects.push(s);
  }
  if (!subjects.some((s) => s.name === REFERENCE_SUBJECT)) {
    const ref = all.find((d) => d.name === REFERENCE_SUBJECT)!;
    subjects.unshift(ref);
    notes.push(`subject ${REFERENCE_SUBJECT} added: every ratio is to it`);
  }
  return { subjects, notes };
}

export function resolveScenarios(names: string[] | undefined, quick: boolean): { scenarios: Scenario[]; memory: boolean } {
  if (names === undefined) return { scenarios: SCENARIOS.filter((s) => !quick || s.quick), memory: !quick };
  const scenarios: Scenario[] = [];
  let memory = false;
  for (const n of names) {
    if (n === MEMORY_SCENARIO) { memory = true; continue; }
    const s = SCENARIOS.find((d) => d.name === n);
    if (!s) throw new BenchError(n, `unknown scenario (known: ${[...SCENARIOS.map((d) => d.name), MEMORY_SCENARIO].join(', ')})`);
    scenarios.push(s);
  }
  return { scenarios, memory };
}

export function cpuPlan(): CpuPlan {
  const n = availableParallelism();
  if (n < 2 || !hasBinary('taskset')) return { server: undefined, all: undefined, load: undefined };
  return { server: '0', all: `0-${n - 1}`, load: n > 2 ? `1-${n - 1}` : '1' };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** First line mentioning a version, for each tool present. */
function toolVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  const probes: Array<[string, string[]]> = [['nginx', ['-v']], ['haproxy', ['-v']], ['wrk', ['-v']], ['h2load', ['--version']]];
  for (const [tool, args] of probes) {
    if (!hasBinary(tool)) continue;
    const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 5000 });
    const line = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').find((l) => /\d+\.\d+/.test(l));
    if (line) out[tool] = line.trim();
  }
  try { out['autocannon'] = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version; } catch { /* not installed */ }
  return out;
}

function pickGenerator(s: Scenario): GeneratorName | undefined {
  return s.generators.find(generatorAvailable);
}

function supports(def: SubjectDef, s: Scenario): boolean {
  return def.features.includes(s.needs);
}

export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { subjects, notes } = resolveSubjects(opts.subjects, opts.extraSubjects, opts.quick);
  const { scenarios: wanted, memory } = resolveScenarios(opts.scenarios, opts.quick);
  const generators: Record<string, GeneratorName> = {};
  const scenarios: Scenario[] = [];
  for (const s of wanted) {
    const g = pickGenerator(s);
    if (!g) { notes.push(`scenario ${s.name} skipped: needs ${s.generators.join(' or ')} (Debian: apt-get install ${s.generators.map((x) => (x === 'h2load' ? 'nghttp2-client' : x)).join(' ')}); autocannon cannot do it`); continue; }
    generators[s.name] = g;
    scenarios.push(s);
  }
  const cpus = cpuPlan();
  if (cpus.server === undefined) notes.push('no pinning: fewer than 2 cores or no taskset; server and generator share cores');
  const run: BenchRun = {
    meta: { startedAt: new Date().toISOString(), finishedAt: '', node: process.version, cpus: availableParallelism(), pinning: cpus, durationS: opts.durationS, warmupS: opts.warmupS, rounds: opts.rounds, quick: opts.quick, generators, tools: toolVersions() },
    subjects: subjects.map((s) => ({ name: s.name, description: s.description })),
    scenarios: scenarios.map((s) => ({ name: s.name, title: s.title })),
    notes,
    records: [],
    pids: [],
  };
  const procs = new ProcessSet();
  const tmp = mkdtempSync(join(tmpdir(), 'anyedge-bench-'));
  procs.addCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  try {
    const pki = await createBenchPki(tmp);
    const staticRoot = join(tmp, 'static');
    mkdirSync(staticRoot);
    writeFileSync(join(staticRoot, 'file-1k.bin'), bodyOf(1024));
    const origin = procs.start('origin', process.execPath, { args: [childScript('origin.js')], cpus: cpus.load });
    const originPort = await origin.waitForLine((_l, j) => (j as { ready?: { port?: number } } | undefined)?.ready?.port, 10_000);
    const originUrl = `http://127.0.0.1:${originPort}`;
    const context = (def: SubjectDef, round?: number | 'paired'): SubjectContext => {
      const dir = join(tmp, `${def.name}-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(dir);
      const phase = round === undefined ? 'memory' : round === 'paired' ? 'paired' : `r${round}`;
      const profile = opts.profileDir === undefined ? {} : { profileDir: join(opts.profileDir, `${def.name}-${phase}`) };
      return { procs, dir, pki, originUrl, staticRoot, cpus, workers: availableParallelism(), freePort, ...profile };
    };
    const stop = async (r: RunningSubject): Promise<void> => {
      for (const m of [...r.processes].reverse()) await procs.stop(m);
    };
    let unique = 0;
    const loadSpec = (s: Scenario, port: number, extra: Partial<LoadSpec> = {}): LoadSpec => ({
      ...s.shape, port, durationS: opts.durationS, warmupS: opts.warmupS, cpus: cpus.load,
      uniquePrefix: `${Date.now().toString(36)}${(++unique).toString(36)}`, ...extra,
    });
    const alive = (def: SubjectDef, r: RunningSubject, during: string): void => {
      procs.snapshot();
      const dead = r.processes.find((m: Managed) => m.exitCode() !== undefined);
      if (dead) throw new BenchError(def.name, `exited (code ${dead.exitCode()}) during ${during}\n${dead.tail()}`);
    };
    const applicable = subjects.map((def) => ({ def, scenarios: scenarios.filter((s) => supports(def, s)) }));
    for (const { def } of applicable.filter((a) => a.scenarios.length === 0)) notes.push(`subject ${def.name}: no selected scenario applies (it speaks ${def.features.join(', ')})`);
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 === 1 ? applicable : [...applicable].reverse();
      for (const { def, scenarios: list } of order) {
        if (list.length === 0) continue;
        log(`round ${round}/${opts.rounds}: ${def.name}: starting`);
        let running: RunningSubject;
        try { running = await def.start(context(def, round)); } catch (err) {
          throw err instanceof BenchError ? err : new BenchError(def.name, `failed to start: ${(err as Error).message}`, { cause: err });
        }
        try {
          alive(def, running, 'start-up');
          for (const s of list) {
            const port = s.needs === 'h2' ? running.h2Port : running.h1Port;
            if (port === undefined) throw new BenchError(def.name, `has no ${s.needs} port for ${s.name}`);
            const g = generators[s.name]!;
            if (running.adminUrl) {
              const state = await settleReadyz(running.adminUrl);
              if (state !== 'ready') notes.push(`round ${round}: ${def.name} was still "${state}" 10 s after the previous scenario when ${s.name} started`);
            }
            let result: LoadResult;
            try {
              result = s.kind === 'overload' ? await overload(procs, g, s, port, loadSpec) : await runLoad(procs, g, loadSpec(s, port));
            } catch (err) {
              alive(def, running, s.name);
              throw new BenchError(def.name, `${s.name}: ${(err as Error).message}`, { cause: err });
            }
            alive(def, running, s.name);
            if (result.responses === 0) notes.push(`round ${round}: ${def.name} answered no request at all in ${s.name} (${result.errors} errors)`);
            run.records.push({ round, scenario: s.name, subject: def.name, result });
            log(`  ${s.name.padEnd(14)} ${def.name.padEnd(14)} ${g.padEnd(10)} ${result.rps.toFixed(0).padStart(7)} rps  p99 ${result.p99Ms.toFixed(2)} ms${result.non2xx ? `  non-2xx ${result.non2xx}` : ''}${result.errors ? `  errors ${result.errors}` : ''}`);
          }
        } finally {
          await stop(running);
        }
      }
    }
    const plan = (opts.pairs ?? 0) > 0 ? planPairs(subjects.map((d) => d.name), scenarios.map((s) => s.name)) : [];
    if (plan.length > 0) {
      const windowS = opts.pairWindowS ?? 2;
      const up = new Map<string, { def: SubjectDef; r: RunningSubject }>();
      try {
        for (const name of new Set(plan.flatMap((p) => [p.a, p.b]))) {
          const def = subjects.find((d) => d.name === name)!;
          log(`paired: ${name}: starting`);
          let r: RunningSubject;
          try { r = await def.start(context(def, 'paired')); } catch (err) {
            throw err instanceof BenchError ? err : new BenchError(def.name, `failed to start: ${(err as Error).message}`, { cause: err });
          }
          up.set(name, { def, r });
          alive(def, r, 'start-up');
        }
        run.paired = await measurePairs(plan, opts.pairs!, windowS, (sc) => generators[sc]!, async (subject, scenario) => {
          const { def, r } = up.get(subject)!;
          const s = scenarios.find((x) => x.name === scenario)!;
          const port = s.needs === 'h2' ? r.h2Port : r.h1Port;
          if (port === undefined) throw new BenchError(def.name, `has no ${s.needs} port for ${s.name}`);
          let result: LoadResult;
          try {
            result = await runLoad(procs, generators[s.name]!, loadSpec(s, port, { durationS: windowS, warmupS: 0 }));
          } catch (err) {
            alive(def, r, `${s.name} (paired)`);
            throw new BenchError(def.name, `${s.name} (paired): ${(err as Error).message}`, { cause: err });
          }
          alive(def, r, `${s.name} (paired)`);
          return goodput(result);
        }, async (p) => {
          // As before each scenario of a round: anyedge back to ready after the last load.
          for (const n of [p.a, p.b]) {
            const url = up.get(n)!.r.adminUrl;
            if (url) await settleReadyz(url);
          }
        }, log);
      } finally {
        for (const { r } of up.values()) await stop(r);
      }
    }
    if (memory) {
      // Overload manager off: the fill is a saturating load, and a shed 503 stores nothing.
      const def = SUBJECTS.find((s) => s.name === 'anyedge-1w-nool')!;
      run.memory = await runMemory(def, context(def), opts.memoryObjects, stop, log);
      log(`  memory: ${run.memory.bytesPerObject.toFixed(0)} B/object (${run.memory.ratioToPayload.toFixed(2)}× payload)`);
    }
    await procs.stop(origin);
  } catch (err) {
    run.error = (err as Error).message;
    throw Object.assign(err as Error, { partial: run });
  } finally {
    await procs.stopAll();
    procs.dispose();
    run.pids = [...procs.seenPids];
    run.meta.finishedAt = new Date().toISOString();
    rmSync(tmp, { recursive: true, force: true });
  }
  return run;
}

/**
 * Overload. Load generators here are closed-loop per connection, so "2× the saturating rate"
 * is offered as 2× the peak rate spread over 8× the connections of the peak phase: once the
 * subject saturates, 400 requests wait on it instead of 50 — excess concurrency, close to but
 * not exactly an open loop. Phases: peak (closed loop, 50 conns), unloaded (a quarter of the
 * peak, paced, 20 conns), 2× (paced, 400 conns). The row's figures are the 2× phase: goodput
 * (2xx/s) and p99 of the admitted requests (autocannon: 2xx only; wrk: every answer, which
 * is the same while nothing is shed); the phases are in `extra`.
 *
 * wrk, when installed, measures it: one autocannon thread with 400 TLS connections fell to
 * about 0.7 of its own 50-connection rate, so it measured itself at 2×: in the 2026-12-02
 * 13:26 run HAProxy "kept" 0.69 of a 15k req/s peak, a rate it serves several times over
 * under wrk.
 */
async function overload(procs: ProcessSet, g: GeneratorName, s: Scenario, port: number, spec: (s: Scenario, port: number, extra?: Partial<LoadSpec>) => LoadSpec): Promise<LoadResult> {
  const peak = await runLoad(procs, g, spec(s, port, { connections: 50 }));
  const quiet = await runLoad(procs, g, spec(s, port, { connections: 20, rate: Math.max(20, Math.round(peak.rps / 4)), warmupS: 0 }));
  const offered = Math.max(40, Math.round(peak.rps * 2));
  const over = await runLoad(procs, g, spec(s, port, { connections: 400, rate: offered, warmupS: 0 }));
  return {
    ...over,
    extra: {
      peakRps: Math.round(peak.rps),
      offeredRps: offered,
      goodputRatio: Number((over.rps / peak.rps).toFixed(3)),
      unloadedRps: Math.round(quiet.rps),
      unloadedP99Ms: Number(quiet.p99Ms.toFixed(3)),
      p99Ratio: Number((over.p99Ms / quiet.p99Ms).toFixed(2)),
      shed: over.non2xx,
      notAdmitted: over.errors,
      ...(typeof over.extra?.['p99LaterMs'] === 'number' ? { p99LaterMs: over.extra['p99LaterMs'] } : {}),
    },
  };
}
