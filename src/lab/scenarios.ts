// The scenarios of `anyedge lab run`: what each does to the lab, when, and what it counts
// as success. The machinery that runs one (load, route monitors, report) is in run.ts.
import { readFileSync } from 'node:fs';
import { LAB_BFD_DETECT_MS, LAB_HOLD_TIME_S } from './configs.js';
import type { RouterRoute } from './control.js';
import { isAlive, sleep, waitUntil } from './netns.js';
import { firstMoveAfter, shareOf, type StreamData } from './report.js';
import type { Run } from './run.js';
import { routeKind } from './status.js';
import { STEER_PREFIX, regionByName, type RegionName } from './topology.js';

export type ScenarioName = 'drain' | 'crash' | 'freeze' | 'overload' | 'flap' | 'ddos' | 'steer';

export interface StreamSpec {
  name: string;
  region: RegionName;
  engine: 'probe' | 'flood';
  connections: number;
  /** Requests per second over all connections (0: as fast as possible). */
  rate: number;
}

/** The background load of every scenario: 16 browser-like users in each region, 200 GET/s in all. */
const PROBES: StreamSpec[] = [
  { name: 'west-clients', region: 'west', engine: 'probe', connections: 16, rate: 200 },
  { name: 'east-clients', region: 'east', engine: 'probe', connections: 16, rate: 200 },
];

export interface Verdict {
  met: boolean;
  details?: Record<string, unknown>;
  /** Moments found after the run (from logs), to mark on the chart. */
  markers?: Array<{ label: string; ts: number }>;
}

export interface ScenarioDef {
  summary: string;
  target: string;
  defaultDuration: number;
  /** The region whose traffic the fault is about: its move is what switchMs times. */
  region: RegionName;
  streams: StreamSpec[];
  /** Injects the fault(s) on the run's clock; returns when done (before the run ends). */
  act(run: Run): Promise<void>;
  judge(run: Run, common: Common): Verdict;
}

export interface Common {
  failed: number;
  /** First answer from another node after the fault (the clients' view). */
  switchMs: number | undefined;
  movedTo: string | undefined;
  /** First change of the region router's kernel route after the fault (the network's view). */
  routeChangeMs: number | undefined;
}

// ---- the scenarios -----------------------------------------------------------------------

const west = (run: Run): string => regionByName(run.lab.topology, 'west').home;
const east = (run: Run): string => regionByName(run.lab.topology, 'east').home;

export const SCENARIOS: Record<ScenarioName, ScenarioDef> = {
  drain: {
    region: 'west',
    summary: 'SIGTERM to the node west uses (shutdown.grace 2s): withdraw first, then stop',
    target: 'zero failed requests; west moves to its next-nearest node',
    defaultDuration: 10_000,
    streams: PROBES,
    async act(run) {
      await run.at(run.faultAt());
      const node = west(run);
      const p = run.lab.process('node', node);
      run.fault(`SIGTERM ${node} (drain)`);
      if (p) process.kill(p.pid, 'SIGTERM');
      void waitUntil(`${node} to exit`, () => !p || !isAlive(p), { timeout: 15_000, every: 20 })
        .then(() => run.event(`${node} exited`), () => {});
    },
    judge(_run, c) {
      return { met: c.failed === 0 && c.movedTo !== undefined };
    },
  },

  crash: {
    region: 'west',
    summary: 'SIGKILL of the node west uses (supervisor + worker); the sidecar sees it and withdraws',
    target: 'west moves to its next-nearest node within 3 s',
    defaultDuration: 10_000,
    streams: PROBES,
    async act(run) {
      await run.at(run.faultAt());
      const node = west(run);
      const procs = run.lab.nodeProcesses(node);
      run.fault(`SIGKILL ${node}`);
      run.lab.signalAll(procs, 'SIGKILL');
    },
    judge(_run, c) {
      return { met: c.movedTo !== undefined && c.switchMs !== undefined && c.switchMs <= 3000 };
    },
  },

  freeze: {
    region: 'west',
    summary: 'SIGSTOP of the whole node west uses (anyedge, sidecar, speaker): the BGP hold timer, or BFD with --bfd, removes it',
    target: 'west\'s router drops the frozen node within the hold time (3 s) + 1 s, or 1 s with BFD; clients follow',
    defaultDuration: 10_000,
    streams: PROBES,
    async act(run) {
      await run.at(run.faultAt());
      const node = west(run);
      const procs = run.lab.wholeNode(node);
      run.fault(`SIGSTOP ${node} (node, sidecar, speaker)`);
      run.lab.signalAll(procs, 'SIGSTOP');
      // Thawed by the restore after the run.
    },
    judge(run, c) {
      // A frozen node cannot withdraw: BGP's hold timer (or BFD) at the router must notice.
      // Clients stuck on the frozen node wait for their own timeout (1 s) on top.
      const bound = run.lab.state.options.bfd ? 1000 : LAB_HOLD_TIME_S * 1000 + 1000;
      return {
        met: c.movedTo !== undefined && c.routeChangeMs !== undefined && c.routeChangeMs <= bound,
        details: { detection: run.lab.state.options.bfd ? `BFD ${LAB_BFD_DETECT_MS} ms` : `BGP hold time ${LAB_HOLD_TIME_S} s`, boundMs: bound },
      };
    },
  },

  overload: {
    region: 'west',
    summary: 'a flood from west past its node\'s capacity: the node prepends, west moves, the route stays',
    target: 'west moves while the overloaded node\'s route stays announced (prepended, not withdrawn)',
    defaultDuration: 12_000,
    streams: PROBES,
    async act(run) {
      await run.at(run.faultAt());
      const node = west(run);
      const capacity = run.lab.topology.nodes.find((n) => n.name === node)!.capacity;
      run.fault(`flood from west: 64 connections (${node}'s capacity: ${capacity})`);
      run.startStream({ name: 'west-flood', region: 'west', engine: 'flood', connections: 64, rate: 320 });
      const moved = await run.waitRouteMove('west', node, run.remaining());
      if (moved) run.scratch['routerAtMove'] = { west: await run.lab.routerRoutes('west').catch(() => []) };
    },
    judge(run, c) {
      const node = west(run);
      const at = (run.scratch['routerAtMove'] as { west?: RouterRoute[] } | undefined)?.west ?? [];
      const kind = routeKind(at, node);
      const changes = run.routeEvents.filter((e) => e.region === 'west' && e.ts >= run.faultTs!).length;
      return {
        met: c.movedTo !== undefined && kind.startsWith('prepended'),
        details: { overloadedNodeRouteAtMove: kind, westRouteChangesDuringFlood: changes },
      };
    },
  },

  flap: {
    region: 'west',
    summary: 'the node west uses stalls for 1.5 s every 3 s (SIGSTOP/SIGCONT): dampening keeps its route down',
    target: 'after a few flaps the route stays withdrawn while the node keeps flapping',
    defaultDuration: 20_000,
    streams: PROBES,
    async act(run) {
      const node = west(run);
      const end = run.duration * 0.85;
      await run.at(run.duration * 0.15);
      let flaps = 0;
      while (run.elapsed() + 3000 <= end) {
        const procs = run.lab.nodeProcesses(node);
        if (flaps === 0) run.fault(`${node} stalls (SIGSTOP) 1.5 s of every 3 s`);
        else run.event('stall', true);
        run.lab.signalAll(procs, 'SIGSTOP');
        flaps++;
        await sleep(1500);
        run.lab.signalAll(procs, 'SIGCONT');
        await sleep(1500);
      }
      run.event(`${node} stable again`);
      run.scratch['stalls'] = flaps;
      run.scratch['flappingEndedTs'] = Date.now();
    },
    judge(run) {
      const node = west(run);
      const suppressedTs = firstLogTime(run.lab.sidecarLog(node), /route suppressed by dampening/, run.faultTs ?? 0);
      const endTs = (run.scratch['flappingEndedTs'] as number | undefined) ?? Date.now();
      const westChanges = run.routeEvents.filter((e) => e.region === 'west' && e.ts >= (run.faultTs ?? 0) && e.ts <= endTs);
      const after = suppressedTs === undefined ? [] : westChanges.filter((e) => e.ts > suppressedTs + 500);
      return {
        met: suppressedTs !== undefined && after.length === 0,
        markers: suppressedTs === undefined ? [] : [{ label: `${node} suppressed by dampening`, ts: suppressedTs }],
        details: {
          stalls: run.scratch['stalls'],
          suppressedAtMs: suppressedTs === undefined ? null : suppressedTs - run.faultTs!,
          westRouteChangesWhileFlapping: westChanges.length,
          westRouteChangesAfterSuppression: after.length,
        },
      };
    },
  },

  ddos: {
    region: 'east',
    summary: 'both regions flood at once; halfway, east\'s flood grows past its node\'s capacity',
    target: 'each flood lands on its own region\'s node (≥ 95 %) until one exceeds its node',
    defaultDuration: 12_000,
    streams: [
      ...PROBES,
      { name: 'west-flood', region: 'west', engine: 'flood', connections: 24, rate: 240 },
      { name: 'east-flood', region: 'east', engine: 'flood', connections: 48, rate: 240 },
    ],
    async act(run) {
      await run.at(run.faultAt(0.5));
      const capacity = run.lab.topology.nodes.find((n) => n.name === east(run))!.capacity;
      run.fault(`east's flood grows by 96 connections (${east(run)}'s capacity: ${capacity})`);
      run.startStream({ name: 'east-surge', region: 'east', engine: 'flood', connections: 96, rate: 288 });
    },
    judge(run) {
      const w = west(run);
      const e = east(run);
      const fault = run.faultTs!;
      const start = run.t0 + 1000;
      const floods = (region: RegionName) => run.streams.filter((s) => s.spec.engine === 'flood' && s.spec.region === region).map((s) => s.data);
      const westShare = shareOf(floods('west'), w, start, fault);
      const eastShare = shareOf(floods('east'), e, start, fault);
      const end = run.t0 + run.duration + 5000;
      const eastAfter = totalsBetween(floods('east'), fault, end);
      const westAfter = totalsBetween(floods('west'), fault, end);
      return {
        met: westShare >= 0.95 && eastShare >= 0.95,
        details: {
          beforeSurge: { westFloodOnWestNode: round(westShare), eastFloodOnEastNode: round(eastShare) },
          afterSurge: {
            eastFloodsByNode: eastAfter,
            westFloodByNode: westAfter,
            eastFloodShareOnWestNode: round(share(eastAfter, w)),
            westFloodShareOnWestNode: round(share(westAfter, w)),
          },
        },
      };
    },
  },

  steer: {
    region: 'east',
    summary: `the node west uses announces a more-specific (${STEER_PREFIX}): east's traffic follows it; withdrawn, it goes back`,
    target: 'east moves to the steering node, and back when the more-specific is withdrawn',
    defaultDuration: 12_000,
    streams: PROBES,
    async act(run) {
      const node = west(run);
      await run.at(run.faultAt());
      run.fault(`${node} announces ${STEER_PREFIX}`);
      await run.lab.steer(node, true);
      await run.at(run.duration * 0.65);
      run.scratch['withdrawTs'] = run.event(`${node} withdraws ${STEER_PREFIX}`);
      await run.lab.steer(node, false);
    },
    judge(run, c) {
      const node = west(run);
      const e = east(run);
      const withdrawTs = run.scratch['withdrawTs'] as number | undefined;
      const eastProbes = run.streams.filter((s) => s.spec.region === 'east' && s.spec.engine === 'probe').map((s) => s.data);
      const back = withdrawTs === undefined ? undefined : firstMoveAfter(eastProbes, withdrawTs, node);
      return {
        met: c.movedTo === node && back?.to === e,
        details: { steeringNode: node, backMs: back?.atMs ?? null, backTo: back?.to ?? null },
      };
    },
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function totalsBetween(streams: StreamData[], from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of streams) for (const sl of s.slices) if (sl.ts >= from && sl.ts < to) for (const [n, c] of Object.entries(sl.ok)) out[n] = (out[n] ?? 0) + c;
  return out;
}

function share(counts: Record<string, number>, node: string): number {
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  return all === 0 ? 0 : (counts[node] ?? 0) / all;
}

/** Time of the first log line (pino JSON, ISO `time`) matching `re` at or after `since`. */
function firstLogTime(file: string, re: RegExp, since: number): number | undefined {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!re.test(line) || !line.startsWith('{')) continue;
    try {
      const ts = Date.parse(String((JSON.parse(line) as { time?: unknown }).time));
      if (ts >= since) return ts;
    } catch { /* not JSON */ }
  }
  return undefined;
}
