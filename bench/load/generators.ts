// Runs one load generator as a tracked, pinned child process and turns its report into a
// LoadResult. autocannon (default, h1), wrk (h1, C: outruns one autocannon thread),
// h2load (h2 with many streams; autocannon has no h2), tls-loop (new connection per request).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childScript } from '../paths.js';
import { BenchError, hasBinary, type ProcessSet } from '../processes.js';
import { Samples, percentile, type GeneratorName, type LoadResult, type LoadSpec } from './types.js';

async function finish(name: string, m: ReturnType<ProcessSet['start']>, timeoutMs: number, procs: ProcessSet): Promise<string> {
  const timer = setTimeout(() => { void procs.stop(m, 1000); }, timeoutMs);
  const [exit, out] = await Promise.all([m.exited, m.output()]);
  clearTimeout(timer);
  if (exit.code !== 0) throw new BenchError(name, `load generator exited with code ${exit.code} (signal ${exit.signal})\n${m.tail()}`);
  return out;
}

function jsonResult(name: string, out: string): LoadResult {
  for (const line of out.split('\n').reverse()) {
    try {
      const r = (JSON.parse(line) as { result?: LoadResult }).result;
      if (r) return r;
    } catch { /* not JSON */ }
  }
  throw new BenchError(name, `no result line in its output:\n${out.slice(-2000)}`);
}

function budgetMs(spec: LoadSpec): number {
  return (spec.warmupS + spec.durationS) * 1000 + 30_000;
}

async function nodeChild(procs: ProcessSet, script: string, name: string, spec: LoadSpec): Promise<LoadResult> {
  const m = procs.start(name, process.execPath, { args: [childScript(script), JSON.stringify(spec)], cpus: spec.cpus });
  return jsonResult(name, await finish(name, m, budgetMs(spec), procs));
}

/** "1.23ms" / "850.00us" / "1.02s" → ms. */
export function wrkDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

export function parseWrk(out: string, durationS: number): LoadResult {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  const total = num(/(\d+) requests in/);
  const non2xx = num(/Non-2xx or 3xx responses:\s+(\d+)/);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  const secs = wrkDuration(`${/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? `${durationS}s`}`) / 1000 || durationS;
  const pct = (p: string): number => wrkDuration(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  return { generator: 'wrk', rps: (total - non2xx) / secs, p50Ms: pct('50'), p99Ms: pct('99'), responses: total, non2xx, errors, durationS: secs };
}

/**
 * The Lua script for one wrk run, or none for a fixed path as fast as possible. The mixed and
 * unique workloads make their misses with a counter; a rate (spec.rate) paces the run with one
 * schedule for all connections: each request is due 1/rate after the previous one, and a
 * connection that is free sleeps until its request is due (wrk's delay(), whole ms; LuaJIT's
 * ffi reads the monotonic clock, which wrk does not give its scripts). When every connection
 * is busy the schedule falls behind and the next free one sends at once, so an overloaded
 * subject sees the offered rate as far as the connections allow, not the rate of its answers;
 * the schedule never lags more than 50 ms, so a stall is not followed by a burst.
 */
export function wrkScript(spec: LoadSpec): string | undefined {
  if (spec.workload === 'fixed' && !spec.rate) return undefined;
  const parts = [`-- ${spec.workload} workload${spec.rate ? `, paced at ${spec.rate} requests/s` : ''} (bench/load/generators.ts)`];
  if (spec.workload === 'fixed') {
    parts.push(`request = function() return wrk.format("GET", "${spec.path}") end`);
  } else {
    const pick = spec.workload === 'unique' ? 'true' : 'math.random() < 0.1';
    parts.push(`local n = 0
request = function()
  if ${pick} then
    n = n + 1
    return wrk.format("GET", "${spec.path}?miss=${spec.uniquePrefix}-" .. n)
  end
  return wrk.format("GET", "${spec.path}")
end`);
  }
  if (spec.rate) {
    parts.push(`local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } anyedge_timespec;
int clock_gettime(int clk, anyedge_timespec *ts);
]]
local ts = ffi.new("anyedge_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local gap = 1000 / ${spec.rate}
local due = nil
delay = function()
  local t = now_ms()
  if due == nil or due < t - 50 then due = t end
  due = due + gap
  if due <= t then return 0 end
  return due - t
end`);
  }
  return `${parts.join('\n')}\n`;
}

async function wrk(procs: ProcessSet, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-bench-wrk-'));
  try {
    const text = wrkScript(spec);
    let script: string | undefined;
    if (text !== undefined) { script = join(dir, 'workload.lua'); writeFileSync(script, text); }
    const base = ['-t1', `-c${spec.connections}`, '--timeout', '10s', ...(script ? ['-s', script] : [])];
    const url = `https://127.0.0.1:${spec.port}${spec.path}`;
    if (spec.warmupS > 0) await finish('wrk', procs.start('wrk', 'wrk', { args: [...base, `-d${spec.warmupS}s`, url], cpus: spec.cpus }), budgetMs(spec), procs);
    const out = await finish('wrk', procs.start('wrk', 'wrk', { args: [...base, `-d${spec.durationS}s`, '--latency', url], cpus: spec.cpus }), budgetMs(spec), procs);
    return parseWrk(out, spec.durationS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function h2load(procs: ProcessSet, spec: LoadSpec): Promise<LoadResult> {
  if (spec.workload !== 'fixed') throw new BenchError('h2load', 'only the fixed workload is supported');
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-bench-h2load-'));
  try {
    const log = join(dir, 'requests.tsv');
    const args = ['-t1', `-c${spec.connections}`, `-m${spec.streams ?? 10}`, '-D', `${Math.round(spec.durationS * 1000)}ms`, '--warm-up-time', `${Math.max(100, Math.round(spec.warmupS * 1000))}ms`, '--log-file', log, `https://127.0.0.1:${spec.port}${spec.path}`];
    const out = await finish('h2load', procs.start('h2load', 'h2load', { args, cpus: spec.cpus }), budgetMs(spec), procs);
    const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
    // "succeeded" (2xx/3xx) counts the measured period; "status codes" includes warm-up.
    const done = num(/(\d+) done/);
    const ok = num(/(\d+) succeeded/);
    const errors = num(/(\d+) errored/) + num(/(\d+) timeout/);
    // h2load prints no percentiles: compute them from its per-request log (µs per request).
    const samples = new Samples();
    let text = '';
    try { text = readFileSync(log, 'utf8'); } catch { /* no requests */ }
    for (const line of text.split('\n')) {
      const [, status, us] = line.split('\t');
      if (us !== undefined && Number(status) >= 200 && Number(status) < 300) samples.push(Number(us) / 1000);
    }
    const sorted = samples.sorted();
    return { generator: 'h2load', rps: ok / spec.durationS, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), responses: done, non2xx: done - ok, errors, durationS: spec.durationS };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function generatorAvailable(g: GeneratorName): boolean {
  return g === 'autocannon' || g === 'tls-loop' ? true : hasBinary(g);
}

export async function runLoad(procs: ProcessSet, generator: GeneratorName, spec: LoadSpec): Promise<LoadResult> {
  switch (generator) {
    case 'autocannon': return nodeChild(procs, 'load/autocannon-child.js', 'autocannon', spec);
    case 'tls-loop': return nodeChild(procs, 'load/tls-loop-child.js', 'tls-loop', spec);
    case 'wrk': return wrk(procs, spec);
    case 'h2load': return h2load(procs, spec);
  }
}
