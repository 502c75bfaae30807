// The bench harness on a tiny run: it starts and stops every subject it is given (no process
// left behind), writes its JSON / markdown / SVG, and fails loudly — naming the subject —
// when a subject is unknown, missing, fails to start or dies mid-run. No timing assertions:
// the figures of a 1 s run mean nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:https';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSubjects, runBench, type BenchOptions, type BenchRun } from '../../bench/harness.js';
import { ANYEDGE_CLI, REPO_ROOT } from '../../bench/paths.js';
import { BenchError, anyAlive, hasBinary } from '../../bench/processes.js';
import { summariseProfile, type CpuProfile } from '../../bench/profile.js';
import { SUBJECTS } from '../../bench/subjects/index.js';
import { bareNode } from '../../bench/subjects/node-subjects.js';
import { readyPorts } from '../../bench/subjects/readiness.js';
import type { RunningSubject, SubjectDef } from '../../bench/subjects/types.js';

const RUN_JS = join(REPO_ROOT, 'dist/bench/run.js');
const tiny: BenchOptions = { scenarios: ['hit-1k-h1'], durationS: 1, warmupS: 0, rounds: 1, quick: true, memoryObjects: 1, log: () => undefined };

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'anyedge-bench-test-'));
  dirs.push(d);
  return d;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** getEphemeralKeyInfo() is typed `object | EphemeralKeyInfo`; its name is the group (e.g. X25519). */
function ephemeralGroup(info: object | null): string {
  return info && 'name' in info && typeof info.name === 'string' ? info.name : '';
}

/** The suite and key exchange a client offering AES-256 first (as wrk and h2load do) gets. */
function negotiated(port: number, alpn: string): Promise<{ suite: string; group: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: [alpn], ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256' }, () => {
      const r = { suite: s.getCipher().standardName, group: ephemeralGroup(s.getEphemeralKeyInfo()) };
      s.destroy();
      resolve(r);
    });
    s.once('error', reject);
  });
}

/** Status and field names of one HTTP/1.1 GET (names lower-case, sorted). */
function head(port: number, path: string): Promise<{ status: number; names: string[]; fields: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, names: Object.keys(res.headers).sort(), fields: res.headers }));
    }).once('error', reject);
  });
}

/** A real subject under another name, started by the harness as in a run; `onStart` asks it something once it is up. */
function probe(prefix: string, name: string, onStart: (running: RunningSubject, def: SubjectDef) => Promise<void>): SubjectDef {
  const def = SUBJECTS.find((d) => d.name === name);
  if (!def) throw new Error(`no subject ${name}`);
  return {
    ...def,
    name: `${prefix}-${name}`,
    async start(ctx) {
      const running = await def.start(ctx);
      await onStart(running, def);
      return running;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<BenchError & { partial?: BenchRun }> {
  try { await p; } catch (err) { return err as BenchError & { partial?: BenchRun }; }
  throw new Error('expected the bench to fail');
}

describe('bench harness', () => {
  it('is built (npm test builds first)', () => {
    expect(existsSync(RUN_JS), `${RUN_JS}: run "npx tsc -p tsconfig.build.json"`).toBe(true);
    expect(existsSync(ANYEDGE_CLI)).toBe(true);
  });

  it('runs bare, anyedge, the undici forwarder and bare again, stops every process and writes the report', async () => {
    const out = tempDir();
    const r = await runCli(['--subjects', 'bare,anyedge-1w,undici,bare-again', '--scenarios', 'hit-1k-h1', '--duration', '1', '--warmup', '0', '--rounds', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchRun & { summary: Array<{ subject: string; scenario: string }> };
    expect(run.records.map((x) => x.subject).sort()).toEqual(['anyedge-1w', 'bare', 'bare-again', 'undici']);
    expect(run.summary.map((x) => x.subject).sort()).toEqual(['anyedge-1w', 'bare', 'bare-again', 'undici']);
    // origin, four subjects, anyedge's worker, four generators at least.
    expect(run.pids.length).toBeGreaterThanOrEqual(10);
    expect(anyAlive(run.pids)).toEqual([]);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const s of ['bare', 'anyedge-1w', 'undici', 'hit-1k-h1', 'autocannon']) expect(md).toContain(s);
    // The A/A control gives the run's noise floor, named in the report.
    expect(md).toMatch(/\*\*Noise floor:\*\* bare-again .* moved \d+\.\d\d–\d+\.\d\d/);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  }, 120_000);

  it('every subject negotiates the TLS suite and group anyedge does, whatever the client prefers', async () => {
    for (const bin of ['nginx', 'haproxy']) if (!hasBinary(bin)) throw new Error(`${bin} is not installed (apt-get install ${bin}); .ci/run installs it`);
    const names = ['bare', 'anyedge-1w', 'undici', 'http-proxy', 'nginx', 'haproxy'];
    const seen: Record<string, string> = {};
    // Each real subject, started by the harness as in a run; on start-up its port is asked.
    const probes = names.map((name) => probe('tls', name, async (running, def) => {
      const h1 = await negotiated(running.h1Port!, 'http/1.1');
      seen[`${name} h1`] = `${h1.suite} ${h1.group}`;
      if (def.features.includes('h2')) {
        const h2 = await negotiated(running.h2Port!, 'h2');
        seen[`${name} h2`] = `${h2.suite} ${h2.group}`;
      }
    }));
    const run = await runBench({ ...tiny, subjects: probes.map((p) => p.name), extraSubjects: probes });
    expect(anyAlive(run.pids)).toEqual([]);
    expect(Object.keys(seen).length).toBeGreaterThanOrEqual(names.length);
    for (const [who, got] of Object.entries(seen)) expect(`${who}: ${got}`).toBe(`${who}: TLS_AES_128_GCM_SHA256 X25519`);
  }, 120_000);

  it('after the rounds, measures the targets again in paired windows with both subjects up, and stops them', async () => {
    const out = tempDir();
    if (!hasBinary('wrk')) throw new Error('wrk is not installed (apt-get install wrk); .ci/run installs it');
    const r = await runCli(['--subjects', 'bare,anyedge-1w,bare-again', '--scenarios', 'hit-1k-h1-wrk', '--duration', '1', '--warmup', '0', '--rounds', '1', '--pairs', '1', '--pair-window', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchRun;
    expect(run.paired?.map((p) => `${p.b}/${p.a}@${p.scenario}`)).toEqual(['bare-again/bare@hit-1k-h1-wrk', 'anyedge-1w/bare@hit-1k-h1-wrk']);
    for (const p of run.paired!) {
      expect(p.ratios).toHaveLength(1);
      expect(p.ratios[0]).toBeGreaterThan(0);
      expect(p.aRps).toHaveLength(2);
      expect(p.bRps.every((x) => x > 0)).toBe(true);
    }
    expect(anyAlive(run.pids)).toEqual([]);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('## Side by side: paired windows');
    expect(md).toMatch(/\| cache hit h1 1 KiB: anyedge-1w \/ bare — paired windows \(hit-1k-h1-wrk\) \| \d+\.\d\d \| ≥ 0\.95 \|/);
    // --quick has no paired phase (it must stay under two minutes).
    const q = await runCli(['--quick', '--subjects', 'bare', '--scenarios', 'hit-1k-h1', '--out', out]);
    expect(q.code, q.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchRun).paired).toBeUndefined();
  }, 120_000);

  it('bare-fields (only when named) answers with the field names anyedge sends on a cache hit', async () => {
    expect(resolveSubjects(undefined).subjects.map((s) => s.name)).not.toContain('bare-fields');
    const heads: Record<string, Awaited<ReturnType<typeof head>>> = {};
    const probes = ['anyedge-1w', 'bare-fields'].map((name) => probe('head', name, async (running) => {
      // anyedge: the first GET stores the origin's answer, the second is the hit.
      if (name === 'anyedge-1w') await head(running.h1Port!, '/1k?head-probe');
      heads[name] = await head(running.h1Port!, '/1k?head-probe');
    }));
    const run = await runBench({ ...tiny, subjects: probes.map((p) => p.name), extraSubjects: probes });
    expect(anyAlive(run.pids)).toEqual([]);
    const [edge, bare] = [heads['anyedge-1w']!, heads['bare-fields']!];
    expect(edge.fields['cache-status']).toMatch(/; hit/);
    expect(bare.status).toBe(200);
    expect(bare.names).toEqual(edge.names);
    expect(bare.fields['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
  }, 120_000);

  it('with --profile, leaves a CPU profile of the anyedge worker that serves the load, summarised and folded', async () => {
    const out = tempDir();
    const prof = tempDir();
    const r = await runCli(['--subjects', 'anyedge-1w', '--scenarios', 'hit-1k-h1', '--duration', '1', '--warmup', '0', '--rounds', '1', '--out', out, '--profile', prof]);
    expect(r.code, r.stderr).toBe(0);
    const dir = join(prof, 'anyedge-1w-r1');
    const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    expect(profiles.length, 'the primary and its worker').toBeGreaterThanOrEqual(2);
    // The worker's summary names the request pipeline; its folded stacks are "a;b;c <µs>" lines.
    const summaries = profiles.map((f) => readFileSync(join(dir, `${f}.txt`), 'utf8'));
    expect(summaries.some((t) => /proxy\/pipeline\.js/.test(t))).toBe(true);
    for (const f of profiles) {
      const lines = readFileSync(join(dir, `${f}.folded`), 'utf8').trim().split('\n');
      for (const l of lines) expect(l).toMatch(/^\S+ \d+$/);
    }
    expect(r.stdout).toContain('profiles summarised');
  }, 120_000);

  it('summarises a profile: shares of busy time (idle left out), self and inclusive, stacks folded root first', () => {
    const frame = (functionName: string) => ({ functionName, url: functionName === 'leaf' ? 'file:///x/src/a.js' : '', lineNumber: 9 });
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 4] },
        { id: 2, callFrame: frame('outer'), children: [3] },
        { id: 3, callFrame: frame('leaf') },
        { id: 4, callFrame: frame('(idle)') },
      ],
      samples: [3, 3, 2, 4, 4],
      timeDeltas: [100, 100, 200, 500, 100],
    };
    const s = summariseProfile(p);
    expect([s.totalUs, s.busyUs]).toEqual([1000, 400]);
    expect(s.self).toEqual([['leaf src/a.js:10', 0.5], ['outer', 0.5]]);
    expect(s.inclusive).toEqual([['outer', 1], ['leaf src/a.js:10', 0.5]]);
    expect(s.folded).toEqual(['outer;leaf_src/a.js:10 200', 'outer 200']);
  });

  it('measures overload with wrk on a paced schedule: the unloaded phase keeps to a quarter of the peak', async () => {
    if (!hasBinary('wrk')) throw new Error('wrk is not installed (apt-get install wrk); .ci/run installs it');
    const out = tempDir();
    const r = await runCli(['--subjects', 'bare', '--scenarios', 'overload', '--duration', '1', '--warmup', '0', '--rounds', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchRun;
    const rec = run.records.find((x) => x.scenario === 'overload' && x.subject === 'bare')!;
    expect(rec.result.generator).toBe('wrk');
    const extra = rec.result.extra as Record<string, number>;
    // Twice the peak (both rounded to whole requests per second in the record).
    expect(Math.abs(extra['offeredRps']! - Math.max(40, extra['peakRps']! * 2))).toBeLessThanOrEqual(1);
    // Asked for peak / 4 over 1 s: pacing can only make it slower on a busy machine, never
    // faster (20 connections each send their first request at once). Unpaced, wrk would run
    // at about the peak.
    expect(extra['unloadedRps']).toBeGreaterThan(0);
    expect(extra['unloadedRps']).toBeLessThanOrEqual(Math.max(20, extra['peakRps']! / 4) * 1.2 + 20);
    expect(anyAlive(run.pids)).toEqual([]);
  }, 120_000);

  it('runs the A/A control by default but not in a quick run', () => {
    expect(resolveSubjects(undefined).subjects.map((s) => s.name)).toContain('bare-again');
    expect(resolveSubjects(undefined, [], true).subjects.map((s) => s.name)).not.toContain('bare-again');
    expect(resolveSubjects(['bare-again'], [], true).subjects.map((s) => s.name)).toEqual(['bare', 'bare-again']);
  });

  it('exits non-zero naming an unknown subject', async () => {
    const r = await runCli(['--subjects', 'bare,no-such-subject', '--out', tempDir()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no-such-subject: unknown subject');
  }, 60_000);

  it('skips a subject whose binary is missing by default, and refuses it when named', () => {
    const missing: SubjectDef = { ...bareNode, name: 'needs-missing', requires: ['anyedge-no-such-binary'] };
    const dflt = resolveSubjects(undefined, [missing]);
    expect(dflt.subjects.map((s) => s.name)).not.toContain('needs-missing');
    expect(dflt.notes.join('\n')).toContain('needs-missing skipped: anyedge-no-such-binary not installed');
    expect(() => resolveSubjects(['needs-missing'], [missing])).toThrow(/needs-missing: needs anyedge-no-such-binary/);
  });

  it('fails naming a subject that exits before it is ready, leaving nothing running', async () => {
    const broken: SubjectDef = {
      ...bareNode,
      name: 'broken',
      async start(ctx) {
        const m = ctx.procs.start('broken', process.execPath, { args: ['-e', 'process.exit(3)'] });
        await readyPorts(m);
        return { processes: [m] };
      },
    };
    const err = await rejection(runBench({ ...tiny, subjects: ['broken'], extraSubjects: [broken] }));
    expect(err).toBeInstanceOf(BenchError);
    expect(err.subject).toBe('broken');
    expect(err.message).toMatch(/^broken: exited \(code 3/);
    expect(err.partial?.pids.length).toBeGreaterThan(0);
    expect(anyAlive(err.partial?.pids ?? [])).toEqual([]);
  }, 60_000);

  it('fails naming a subject that dies during a scenario', async () => {
    const dying: SubjectDef = {
      ...bareNode,
      name: 'dying',
      async start(ctx) {
        const running = await bareNode.start(ctx);
        const pid = running.processes[0]!.pid;
        setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, 300).unref();
        return running;
      },
    };
    const err = await rejection(runBench({ ...tiny, subjects: ['bare', 'dying'], extraSubjects: [dying] }));
    expect(err.subject).toBe('dying');
    expect(err.message).toContain('hit-1k-h1');
    expect(anyAlive(err.partial?.pids ?? [])).toEqual([]);
  }, 60_000);
});
