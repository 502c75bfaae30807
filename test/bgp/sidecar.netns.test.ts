// The sidecar with real BGP speakers, in network namespaces this file creates and removes:
//
//   client (10.255.9.2) ── router (BIRD 2, AS 65000, installs the /32 in its kernel table)
//                            ├── eb: edge with BIRD 2 (AS 65001)  + sidecar --speaker bird
//                            └── ex: edge with ExaBGP (AS 65002)  + sidecar --speaker exabgp
//
// Each edge has 192.0.2.1/32 on lo and a stand-in admin plane (netns-readyz-server.mjs) on
// its unicast address whose readiness the test sets through a file. Assertions are made at
// the router (`birdc show route`, `ip route`), where a user of the anycast address would see
// them. Needs root, ip, bird, birdc and exabgp; otherwise skipped with the reason printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BGP_TEST_TIMERS, EXABGP_ENV, edgeBirdConfig, exabgpConfig } from '../helpers/netns-speakers.js';
import { Lab, netnsUnavailable, waitUntil, type BirdRouter, type LabProcess, type Netns } from '../helpers/netns.js';
import { bundleSidecar, type SidecarBundle } from '../helpers/netns-sidecar-bundle.js';

const unavailable = netnsUnavailable(['bird', 'birdc', 'exabgp']);
if (unavailable) console.log(`[test/bgp/sidecar.netns.test.ts] skipped: ${unavailable}`);

const PREFIX = '192.0.2.1/32';
const ANYCAST = '192.0.2.1';
const ROUTER_AS = 65000;
const READYZ_SERVER = join(import.meta.dirname, '../helpers/netns-readyz-server.mjs');
const SYSTEMD_UNIT = join(import.meta.dirname, '../../deploy/systemd/anyedge-sidecar.service');

type Speaker = 'bird' | 'exabgp';
type ReadyState = 'ready' | 'overloaded' | 'draining' | 'disabled' | 'failing' | 'hang' | 'garbage';

interface EdgeSpec { tag: string; speaker: Speaker; as: number; addr: string; routerAddr: string; routerProto: string }
const EDGES: Record<Speaker, EdgeSpec> = {
  bird: { tag: 'eb', speaker: 'bird', as: 65001, addr: '10.255.1.2', routerAddr: '10.255.1.1', routerProto: 'edge_b' },
  exabgp: { tag: 'ex', speaker: 'exabgp', as: 65002, addr: '10.255.2.2', routerAddr: '10.255.2.1', routerProto: 'edge_x' },
};

/** Fast settings for the tests; production defaults are 1s / 200ms / rise 3 / fall 2. */
const FAST = ['--interval', '200ms', '--fast-interval', '50ms', '--rise', '2', '--fall', '2', '--timeout', '150ms', '--refresh', '5s'];

// BIRD's defaults are made for the internet: "error wait time 60, 300" makes a restarted peer
// wait a minute, and the first connect waits "start delay time" 5 s.

const routerConfig = `
router id 10.255.0.1;
log stderr { warning, error, fatal };
protocol device { }
protocol kernel { ipv4 { import none; export all; }; }
template bgp edge {
  local as ${ROUTER_AS};
  ipv4 { import all; export none; };
  ${BGP_TEST_TIMERS}
}
protocol bgp ${EDGES.bird.routerProto} from edge { neighbor ${EDGES.bird.addr} as ${EDGES.bird.as}; source address ${EDGES.bird.routerAddr}; }
# ExaBGP never listens: the router must accept its connection.
protocol bgp ${EDGES.exabgp.routerProto} from edge { neighbor ${EDGES.exabgp.addr} as ${EDGES.exabgp.as}; source address ${EDGES.exabgp.routerAddr}; passive on; }
`;

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: Math.round(s[0] ?? NaN), median: Math.round(s[Math.floor(s.length / 2)] ?? NaN), max: Math.round(s.at(-1) ?? NaN) };
};

describe.skipIf(unavailable !== undefined)('BGP sidecar with BIRD 2 and ExaBGP in network namespaces', () => {
  let lab: Lab;
  let bundle: SidecarBundle;
  let router: BirdRouter;
  let edgeBird: BirdRouter;
  const ns: Record<string, Netns> = {};
  const running: Edge[] = [];

  beforeAll(async () => {
    bundle = bundleSidecar();
    lab = new Lab('sidecar');
    ns['r'] = await lab.namespace('router');
    ns['c'] = await lab.namespace('client');
    await lab.enableForwarding(ns['r']);
    await lab.link(ns['r'], '10.255.9.1/30', ns['c'], '10.255.9.2/30');
    await lab.ip(ns['c'], 'route', 'add', 'default', 'via', '10.255.9.1');
    for (const e of Object.values(EDGES)) {
      const edge = (ns[e.tag] = await lab.namespace(e.tag));
      await lab.link(ns['r'], `${e.routerAddr}/30`, edge, `${e.addr}/30`);
      await lab.addLoopbackAddress(edge, `${PREFIX}`);
      await lab.ip(edge, 'route', 'add', 'default', 'via', e.routerAddr);
    }
    router = await lab.bird(ns['r'], 'router', routerConfig);
    edgeBird = await lab.bird(ns['eb']!, 'edge-b', edgeBirdConfig(EDGES.bird, ROUTER_AS, PREFIX));
    await waitUntil('edge BIRD session to the router', () => established(EDGES.bird.routerProto), { timeout: 20_000, every: 50 });
  }, 60_000);

  afterAll(async () => {
    for (const e of running.splice(0)) await e.stop();
    await lab?.cleanup();
    bundle?.remove();
  }, 60_000);

  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
    // Leave the BIRD edge as its config starts it, whatever the test did to the sidecar.
    await edgeBird?.birdc('disable', 'anycast').catch(() => {});
    await edgeBird?.birdc('disable', 'anycast_prepend').catch(() => {});
  }, 30_000);

  // ---- what the router sees ----------------------------------------------------------

  async function established(proto: string): Promise<boolean> {
    return (await router.birdc('show', 'protocols', proto)).includes('Established');
  }

  /** The route the router learnt from one edge, with its AS path; undefined when none. */
  async function routeFrom(e: EdgeSpec): Promise<{ asPath: string } | undefined> {
    let out: string;
    try {
      out = await router.birdc('show', 'route', PREFIX, 'protocol', e.routerProto, 'all');
    } catch (err) {
      // birdc exits 1 on "8001 Network not found".
      if (/Network not found/.test((err as Error).message)) return undefined;
      throw err;
    }
    if (!out.includes(PREFIX)) return undefined;
    return { asPath: /BGP\.as_path:\s*(.*)/.exec(out)?.[1]?.trim() ?? '' };
  }

  /** Next hop of the anycast route in the router's kernel table. */
  async function kernelVia(): Promise<string | undefined> {
    return /via (\S+)/.exec(await lab.ip(ns['r']!, 'route', 'show', PREFIX))?.[1];
  }

  /** "Import withdraws: received" for one edge's session (monotonic). */
  async function importWithdraws(e: EdgeSpec): Promise<number> {
    const out = await router.birdc('show', 'protocols', 'all', e.routerProto);
    return Number(/Import withdraws:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  }

  const present = (e: EdgeSpec) => async () => (await routeFrom(e)) !== undefined;
  const absent = (e: EdgeSpec) => async () => (await routeFrom(e)) === undefined;

  /** Which edge answers GET http://192.0.2.1/ from the client namespace. */
  async function clientReaches(): Promise<string> {
    const script = `fetch('http://${ANYCAST}/', { signal: AbortSignal.timeout(1500) }).then(r => r.text()).then(t => process.stdout.write(t.trim()), e => process.stdout.write('unreachable: ' + (e.cause?.code ?? e.name)))`;
    return (await lab.exec(ns['c']!, process.execPath, ['-e', script], { timeout: 5000 })).trim();
  }

  // ---- an edge: stand-in admin plane + speaker + sidecar ------------------------------

  class Edge {
    readonly spec: EdgeSpec;
    readonly stateFile: string;
    readyz!: LabProcess;
    /** The sidecar's own process (bird), or ExaBGP whose stderr carries the sidecar's logs. */
    proc!: LabProcess;

    constructor(spec: EdgeSpec) {
      this.spec = spec;
      this.stateFile = join(lab.dir, `${spec.tag}-readiness`);
    }

    setState(s: ReadyState): void {
      writeFileSync(this.stateFile, s);
    }

    async startReadyz(): Promise<void> {
      this.readyz = lab.spawn(ns[this.spec.tag]!, `readyz ${this.spec.tag}`, process.execPath, [
        READYZ_SERVER, '--listen', `${this.spec.addr}:9901`, '--state-file', this.stateFile, '--anycast', `${ANYCAST}:80`, '--name', this.spec.tag,
      ]);
      await this.readyz.waitForLine('readyz server', (l) => l.startsWith('web listening'), { timeout: 10_000 });
    }

    /** Sidecar log lines (pino JSON). */
    logs(): Array<Record<string, unknown>> {
      return this.proc.json().filter((l) => l['proc'] === 'sidecar');
    }

    transitions(): Array<Record<string, unknown>> {
      return this.logs().filter((l) => l['event'] === 'transition');
    }

    /** Waits for a transition to `to` after the first `after` transitions. */
    waitTransition(to: string, after = 0, timeout = 10_000): Promise<Record<string, unknown>> {
      return waitUntil(`${this.spec.tag} sidecar → ${to}`, () => this.transitions().slice(after).find((t) => t['to'] === to), { timeout, every: 10 });
    }

    /** Pids of every sidecar that logged its start, in order (ExaBGP respawns them). */
    sidecarPids(): number[] {
      return this.logs().filter((l) => l['msg'] === 'sidecar starting').map((l) => Number(l['pid']));
    }

    /** GET /metrics from the sidecar's listener, inside the edge namespace. */
    async metrics(): Promise<string> {
      const script = `fetch('http://${this.spec.addr}:9902/metrics').then(r => r.text()).then(t => process.stdout.write(t))`;
      return lab.exec(ns[this.spec.tag]!, process.execPath, ['-e', script], { timeout: 5000 });
    }

    async stop(): Promise<void> {
      await this.proc?.stop();
      await this.readyz?.stop();
    }
  }

  async function startEdge(speaker: Speaker, extra: string[] = [], state: ReadyState = 'ready'): Promise<Edge> {
    const e = new Edge(EDGES[speaker]);
    running.push(e);
    e.setState(state);
    await e.startReadyz();
    const flags = [
      '--speaker', speaker, '--prefix', PREFIX, '--readyz', `http://${e.spec.addr}:9901/readyz`, '--metrics', `${e.spec.addr}:9902`,
      '--prepend', '3', '--local-as', String(e.spec.as), ...FAST, ...extra,
    ];
    if (speaker === 'bird') {
      e.proc = lab.spawn(ns[e.spec.tag]!, 'sidecar eb', process.execPath, [bundle.main, ...flags, '--bird-socket', edgeBird.socket, '--bird-protocol', 'anycast']);
    } else {
      const conf = lab.file('exabgp.conf', exabgpConfig(e.spec, ROUTER_AS, [process.execPath, bundle.main, ...flags].join(' ')));
      e.proc = lab.spawn(ns[e.spec.tag]!, 'exabgp ex', 'exabgp', [conf], { env: { ...process.env, ...EXABGP_ENV } });
    }
    await waitUntil(`${e.spec.tag} sidecar to start`, () => e.sidecarPids().length > 0 || (!e.proc.running && Promise.reject(new Error(e.proc.tail()))), { timeout: 10_000 });
    return e;
  }

  // ---- the behaviour, for both speakers ------------------------------------------------

  describe.each<Speaker>(['bird', 'exabgp'])('speaker %s', (speaker) => {
    const spec = EDGES[speaker];

    it('announces when healthy, withdraws after `fall` failed probes, announces again after `rise` (convergence)', async () => {
      const edge = await startEdge(speaker, ['--dampening', 'off']);
      await waitUntil('route at the router', present(spec), { timeout: 20_000 });
      expect(await kernelVia()).toBe(spec.addr);
      expect(await clientReaches()).toBe(spec.tag);

      const down: number[] = [];
      const up: number[] = [];
      for (let i = 0; i < 5; i++) {
        let t0 = performance.now();
        edge.setState('failing');
        await waitUntil('route withdrawn at the router', async () => (await kernelVia()) === undefined && absent(spec)(), { timeout: 5000, every: 5 });
        down.push(performance.now() - t0);
        t0 = performance.now();
        edge.setState('ready');
        await waitUntil('route back at the router', async () => (await kernelVia()) === spec.addr, { timeout: 5000, every: 5 });
        up.push(performance.now() - t0);
      }
      console.log(`[convergence ${speaker}] interval 200ms, fast 50ms, rise 2, fall 2: readiness failing → route gone from router kernel ${JSON.stringify(stats(down))} ms; ready → route back ${JSON.stringify(stats(up))} ms`);

      const t = edge.transitions();
      const fell = t.find((x) => x['to'] === 'DOWN');
      expect(fell).toMatchObject({ from: 'FALLING', reason: expect.stringMatching(/probe failed 2\/2 \(fall\): failing/), probe: { status: 503, state: 'failing' } });
      expect(t.find((x) => x['to'] === 'UP' && x['from'] === 'RISING')).toMatchObject({ reason: expect.stringMatching(/probe ok 2\/2 \(rise\)/) });
      const m = await edge.metrics();
      expect(m).toMatch(/anyedge_sidecar_state\{state="UP"\} 1/);
      // Five failures; ExaBGP's startup withdrawal counts too (BIRD said "already disabled").
      expect(m).toMatch(new RegExp(`anyedge_sidecar_withdrawals_total ${speaker === 'bird' ? 5 : 6}\n`));
      expect(m).toMatch(/anyedge_sidecar_announcements_total\{kind="plain"\} 6/);
    }, 90_000);

    it('a stalled node (probe timeout) and a dead one (connection refused) both lose the route', async () => {
      const edge = await startEdge(speaker);
      await waitUntil('route at the router', present(spec), { timeout: 20_000 });
      let seen = edge.transitions().length;
      edge.setState('hang');
      await waitUntil('route withdrawn after probe timeouts', absent(spec), { timeout: 5000, every: 5 });
      expect(await edge.waitTransition('DOWN', seen)).toMatchObject({ probe: { error: 'TIMEOUT' } });
      edge.setState('ready');
      await waitUntil('route back', present(spec), { timeout: 5000, every: 5 });
      seen = edge.transitions().length;
      await edge.readyz.stop();
      await waitUntil('route withdrawn after refused probes', absent(spec), { timeout: 5000, every: 5 });
      expect(await edge.waitTransition('DOWN', seen)).toMatchObject({ probe: { error: 'ECONNREFUSED' } });
    }, 60_000);

    it('overloaded: keeps the route with the AS path prepended, with no withdrawal in between', async () => {
      const edge = await startEdge(speaker);
      const plain = String(spec.as);
      const prepended = [spec.as, spec.as, spec.as, spec.as].join(' ');
      await waitUntil('plain route', async () => (await routeFrom(spec))?.asPath === plain, { timeout: 20_000 });
      const withdrawsBefore = await importWithdraws(spec);
      edge.setState('overloaded');
      await waitUntil('prepended route', async () => (await routeFrom(spec))?.asPath === prepended, { timeout: 5000, every: 5 });
      expect(await kernelVia()).toBe(spec.addr); // still serving: de-preferred, not withdrawn
      edge.setState('ready');
      await waitUntil('plain route again', async () => (await routeFrom(spec))?.asPath === plain, { timeout: 5000, every: 5 });
      expect(await importWithdraws(spec)).toBe(withdrawsBefore);
      expect(edge.transitions().map((t) => t['to'])).toEqual(expect.arrayContaining(['OVERLOADED', 'UP']));
      expect(await edge.metrics()).toMatch(/anyedge_sidecar_announcements_total\{kind="prepended"\} 1/);
    }, 60_000);

    it('draining withdraws on the first probe that says so, without counting to fall', async () => {
      const edge = await startEdge(speaker, ['--fall', '50']);
      await waitUntil('route at the router', present(spec), { timeout: 20_000 });
      const seen = edge.transitions().length;
      edge.setState('draining');
      await waitUntil('route withdrawn', absent(spec), { timeout: 5000, every: 5 });
      expect(edge.transitions().slice(seen)[0]).toMatchObject({ from: 'UP', to: 'DISABLED', reason: expect.stringMatching(/planned withdrawal: draining/) });
    }, 60_000);

    it('a flapping node is suppressed until it has been stable, then announced again', async () => {
      const edge = await startEdge(speaker, [
        '--rise', '1', '--fall', '1',
        '--dampening-penalty', '1000', '--dampening-suppress', '2000', '--dampening-reuse', '750', '--dampening-half-life', '2s', '--dampening-max-suppress', '30s',
      ]);
      await waitUntil('route at the router', present(spec), { timeout: 20_000 });
      // Flap until suppressed: penalties ≈1000, ≈1900, ≈2700 when flaps are ~0.3 s apart, so
      // the third crosses suppress; a slow machine may need one more (bounded).
      const suppressed = () => edge.logs().find((l) => /route suppressed by dampening/.test(String(l['msg'])));
      let flaps = 0;
      for (; flaps < 6 && !suppressed(); flaps++) {
        if (flaps > 0) {
          const seen = edge.transitions().length;
          edge.setState('ready');
          await edge.waitTransition('UP', seen);
          await waitUntil('route back between flaps', present(spec), { timeout: 5000, every: 5 });
        }
        const seen = edge.transitions().length;
        edge.setState('failing');
        await edge.waitTransition('DOWN', seen);
        await waitUntil('route withdrawn', absent(spec), { timeout: 5000, every: 5 });
      }
      expect(suppressed()).toBeDefined();
      expect(flaps).toBeGreaterThanOrEqual(3);
      const seen = edge.transitions().length;
      edge.setState('ready');
      const upAgain = await edge.waitTransition('UP', seen);
      expect(upAgain['suppressed']).toBe(true);
      const t0 = performance.now();
      // The node is healthy, but the router must not see the route while suppressed.
      const m = await edge.metrics();
      expect(m).toMatch(/anyedge_sidecar_state\{state="UP"\} 1/);
      expect(m).toMatch(/anyedge_sidecar_dampening_suppressed 1/);
      expect(await routeFrom(spec)).toBeUndefined();
      await waitUntil('route announced again after the penalty decayed', present(spec), { timeout: 15_000, every: 20 });
      const heldFor = performance.now() - t0;
      await waitUntil('the release in the log', () => edge.logs().some((l) => /dampening released the route/.test(String(l['msg'])) && l['route'] === 'announce'), { timeout: 5000 });
      console.log(`[dampening ${speaker}] half-life 2s, suppress 2000, reuse 750: healthy but suppressed for ${Math.round(heldFor)} ms`);
    }, 60_000);
  });

  // ---- exit and death -------------------------------------------------------------------

  it('bird: SIGTERM withdraws the route, then the sidecar exits 0', async () => {
    const edge = await startEdge('bird');
    await waitUntil('route at the router', present(EDGES.bird), { timeout: 20_000 });
    edge.proc.signal('SIGTERM');
    await waitUntil('route withdrawn', absent(EDGES.bird), { timeout: 5000, every: 5 });
    await edge.proc.exited;
    expect(edge.proc.exitCode).toBe(0);
    // The session stayed up: it was the sidecar that withdrew, not BIRD going away.
    expect(await established(EDGES.bird.routerProto)).toBe(true);
    expect(edge.logs().find((l) => l['route'] === 'withdraw' && /^withdraw: exit: SIGTERM/.test(String(l['msg'])))).toMatchObject({ changed: true });
  }, 60_000);

  it('bird: a killed sidecar leaves the route up; the systemd unit\'s ExecStopPost withdraws it', async () => {
    const edge = await startEdge('bird');
    await waitUntil('route at the router', present(EDGES.bird), { timeout: 20_000 });
    edge.proc.signal('SIGKILL');
    await edge.proc.exited;
    expect(await routeFrom(EDGES.bird)).toBeDefined(); // nobody withdrew: this is the gap
    const unit = readFileSync(SYSTEMD_UNIT, 'utf8');
    const stopPost = [...unit.matchAll(/^ExecStopPost=-?(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/));
    expect(stopPost.length).toBeGreaterThan(0);
    for (const [cmd, ...args] of stopPost) {
      expect(cmd).toMatch(/birdc$/);
      const i = args.indexOf('-s');
      if (i >= 0) args[i + 1] = edgeBird.socket; // the unit names /run/bird/bird.ctl
      await lab.exec(ns['eb']!, cmd!, args);
    }
    await waitUntil('route withdrawn by ExecStopPost', absent(EDGES.bird), { timeout: 5000, every: 5 });
  }, 60_000);

  it('exabgp: SIGTERM to the sidecar withdraws; ExaBGP respawns it and it rises again', async () => {
    const edge = await startEdge('exabgp');
    await waitUntil('route at the router', present(EDGES.exabgp), { timeout: 20_000 });
    const before = await importWithdraws(EDGES.exabgp);
    const [pid] = edge.sidecarPids();
    process.kill(pid!, 'SIGTERM');
    await waitUntil('a withdrawal at the router', async () => (await importWithdraws(EDGES.exabgp)) > before, { timeout: 5000, every: 5 });
    // Logged once ExaBGP acknowledged, which may be after the router has the UPDATE.
    const exitLine = await waitUntil('the sidecar\'s exit withdrawal in its log', () => edge.logs().find((l) => l['pid'] === pid && l['route'] === 'withdraw' && /^withdraw: exit: SIGTERM/.test(String(l['msg']))), { timeout: 5000 });
    expect(exitLine).toMatchObject({ changed: true });
    expect(await established(EDGES.exabgp.routerProto)).toBe(true);
    await waitUntil('a respawned sidecar', () => edge.sidecarPids().length > 1, { timeout: 10_000 });
    await waitUntil('route back', present(EDGES.exabgp), { timeout: 10_000 });
  }, 60_000);

  it('exabgp: a crash-looping sidecar is respawned (withdrawing at start) until ExaBGP gives up, taking the route with it', async () => {
    const edge = await startEdge('exabgp');
    await waitUntil('route at the router', present(EDGES.exabgp), { timeout: 20_000 });
    const before = await importWithdraws(EDGES.exabgp);
    let kills = 0;
    // ExaBGP allows 5 respawns per ~64 s window; two windows at most need 12 deaths.
    for (; kills < 14 && edge.proc.running; kills++) {
      const pids = edge.sidecarPids();
      try { process.kill(pids.at(-1)!, 'SIGKILL'); } catch { /* already gone */ }
      await waitUntil('a respawn or ExaBGP exiting', () => edge.sidecarPids().length > pids.length || !edge.proc.running, { timeout: 10_000 });
      if (kills === 0 && edge.proc.running) {
        // The dead sidecar said nothing; the respawned one withdrew what it left announced.
        await waitUntil('the respawned sidecar\'s startup withdrawal', async () => (await importWithdraws(EDGES.exabgp)) > before, { timeout: 5000, every: 5 });
      }
    }
    await edge.proc.exited;
    expect(edge.proc.lines.some((l) => /Too many death/.test(l))).toBe(true);
    await waitUntil('route gone with the session', absent(EDGES.exabgp), { timeout: 5000, every: 5 });
    expect(await established(EDGES.exabgp.routerProto)).toBe(false);
    console.log(`[fail-closed exabgp] ExaBGP exited after ${kills} sidecar deaths`);
  }, 90_000);

  // ---- anycast, end to end --------------------------------------------------------------

  it('anycast: the client reaches a healthy edge; an overloaded edge is de-preferred, a failed one dropped', async () => {
    const eb = await startEdge('bird');
    const ex = await startEdge('exabgp');
    await waitUntil('both routes at the router', async () => (await routeFrom(EDGES.bird)) !== undefined && (await routeFrom(EDGES.exabgp)) !== undefined, { timeout: 20_000, every: 20 });
    const via = await kernelVia();
    const [first, second] = via === EDGES.bird.addr ? [eb, ex] : [ex, eb];
    expect(await clientReaches()).toBe(first.spec.tag);

    first.setState('overloaded');
    await waitUntil('traffic moves to the other edge', async () => (await kernelVia()) === second.spec.addr, { timeout: 5000, every: 5 });
    expect(await clientReaches()).toBe(second.spec.tag);

    second.setState('failing');
    await waitUntil('the overloaded edge is the only one left', async () => (await kernelVia()) === first.spec.addr, { timeout: 5000, every: 5 });
    expect(await clientReaches()).toBe(first.spec.tag);

    first.setState('failing');
    await waitUntil('no route at all', async () => (await kernelVia()) === undefined, { timeout: 5000, every: 5 });
    expect(await clientReaches()).toMatch(/^unreachable/);
  }, 90_000);
});
