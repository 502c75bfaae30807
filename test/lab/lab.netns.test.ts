// `anyedge lab` end to end, as an operator runs it (the built CLI): a failed and a killed
// `up` leave nothing behind, and a real lab measures the drain (no failed request) and the
// crash (traffic moves, within bounds). Needs root, iproute2 and BIRD 2; otherwise skipped
// with the reason printed. Uses its own lab name and state root, so a lab an operator has
// running on this machine is never touched.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labUnavailable } from '../../src/lab/lab-up.js';
import { isAlive, listNamespaces, waitUntil } from '../../src/lab/netns.js';
import type { LabState } from '../../src/lab/state.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const unavailable = labUnavailable('bird');
const canRunLab = unavailable === undefined;
if (!canRunLab) console.log(`[test/lab/lab.netns.test.ts] skipped: ${unavailable}`);

interface Ran { code: number; stdout: string; stderr: string }

/** True when some src/lab file is newer than its build (or the build is missing). */
function buildIsStale(): boolean {
  const src = join(ROOT, 'src/lab');
  return readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).some((f) => {
    const out = join(ROOT, 'dist/src/lab', f.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(src, f)).mtimeMs;
  });
}

describe.skipIf(!canRunLab)('anyedge lab in network namespaces', () => {
  const lab = `t${process.pid.toString(36)}`.slice(0, 12);
  const stateRoot = mkdtempSync(join(tmpdir(), 'anyedge-lab-test-'));
  const results = join(stateRoot, 'results');
  const stateDir = join(stateRoot, lab);

  const cli = (args: string[], timeout = 120_000): Promise<Ran> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'lab', ...args, '--lab', lab, '--state-root', stateRoot], { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  const ours = async (): Promise<string[]> => (await listNamespaces()).filter((n) => n.startsWith(`aelab-${lab}-`));
  /** Processes whose command line names our state root: everything the lab started. */
  const ourProcesses = (): number[] => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateRoot);
    } catch {
      return false;
    }
  }).map(Number);
  const lastJson = (out: string): Record<string, unknown> => JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;

  beforeAll(async () => {
    if (!buildIsStale()) return;
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { timeout: 170_000 }, (err, stdout) => (err ? reject(new Error(`build failed: ${stdout}`)) : resolve()));
    });
  }, 180_000);

  afterAll(async () => {
    await cli(['down']);
    rmSync(stateRoot, { recursive: true, force: true });
  }, 60_000);

  it('a failed `up` removes every namespace and process it had created', async () => {
    const r = await cli(['up', '--nodes', '2', '--fail-after', 'edges']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lab up failed at step "edges": injected failure/);
    expect(r.stderr).toMatch(/removed \d+ namespace\(s\)/);
    expect(await ours()).toEqual([]);
    expect(ourProcesses()).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  }, 120_000);

  it('a killed `up` leaves nothing that `lab down` does not remove', async () => {
    const up = spawn(process.execPath, [CLI, 'lab', 'up', '--nodes', '2', '--lab', lab, '--state-root', stateRoot], { stdio: 'ignore' });
    // Killed once routers are running: namespaces, links and processes exist by then.
    const state = await waitUntil('the routers to be recorded', () => {
      try {
        const s = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as LabState;
        return s.processes.filter((p) => p.role === 'router').length === 2 ? s : undefined;
      } catch {
        return undefined;
      }
    }, { timeout: 60_000, every: 20 });
    up.kill('SIGKILL');
    await new Promise((r) => up.once('exit', r));
    expect((await ours()).length).toBeGreaterThan(0);

    const r = await cli(['down']);
    expect(r.code).toBe(0);
    expect(await ours()).toEqual([]);
    expect(state.processes.filter((p) => isAlive(p))).toEqual([]);
    expect(ourProcesses()).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
  }, 120_000);

  it('up; drain loses no request; crash moves traffic within bounds; down leaves nothing', async () => {
    const up = await cli(['up']);
    expect(up.code, up.stderr).toBe(0);

    const status = await cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const s = lastJson(status.stdout) as { regions: Array<{ region: string; home: string; reaches: string }>; nodes: Array<{ readyz: string }> };
    for (const r of s.regions) expect(r.reaches).toBe(r.home);
    expect(s.nodes.map((n) => n.readyz)).toEqual(['ready', 'ready', 'ready']);

    const drain = await cli(['run', 'drain', '--duration', '6s', '--json', '--results', results]);
    expect(drain.code, drain.stderr).toBe(0);
    const d = lastJson(drain.stdout) as { scenario: string; failedRequests: number; totalRequests: number; switchMs: number | null; affected: { from: string; to: string | null }; perNode: Record<string, number> };
    console.log(`[lab drain] ${d.totalRequests} requests, ${d.failedRequests} failed, west ${d.affected.from} → ${d.affected.to} after ${d.switchMs} ms; per node ${JSON.stringify(d.perNode)}`);
    expect(d.scenario).toBe('drain');
    expect(d.totalRequests).toBeGreaterThan(500);
    expect(d.failedRequests).toBe(0);
    expect(d.affected).toMatchObject({ from: 'edge1', to: 'edge2' });

    const crash = await cli(['run', 'crash', '--duration', '6s', '--json', '--results', results]);
    expect(crash.code, crash.stderr).toBe(0);
    const c = lastJson(crash.stdout) as typeof d & { routeChangeMs: number | null };
    console.log(`[lab crash] ${c.totalRequests} requests, ${c.failedRequests} failed, west ${c.affected.from} → ${c.affected.to} after ${c.switchMs} ms (route changed after ${c.routeChangeMs} ms)`);
    expect(c.affected).toMatchObject({ from: 'edge1', to: 'edge2' });
    // Sidecar: interval 250 ms, fall 2 at 50 ms → withdrawn well within a second on an idle
    // machine; the bound leaves room for a busy CI box.
    expect(c.switchMs).not.toBeNull();
    expect(c.switchMs!).toBeLessThan(5000);

    // Each run wrote its report: the JSON and the chart.
    const files = readdirSync(results);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(2);
    expect(files.filter((f) => f.endsWith('.svg'))).toHaveLength(2);

    const down = await cli(['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(await ours()).toEqual([]);
    expect(ourProcesses()).toEqual([]);
  }, 240_000);
});
