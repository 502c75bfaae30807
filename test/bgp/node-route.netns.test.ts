// The real node, end to end with BGP: `anyedge start` and `anyedge sidecar` in network
// namespaces this file creates and removes, with BIRD 2 and ExaBGP from Debian:
//
//   client (10.255.20.2, .3) ── router (BIRD 2, AS 65000, installs the /32 in its kernel table)
//                                 ├── a: edge-a  10.255.21.2  anyedge + sidecar --speaker bird   + BIRD 2 (AS 65001)
//                                 └── b: edge-b  10.255.22.2  anyedge + sidecar under ExaBGP       (AS 65002)
//
// Each edge has 192.0.2.1/32 on lo, a node listening there on :443 (TLS) with its admin
// plane on the edge's unicast address (the sidecar probes that, never the anycast address),
// and a tiny origin on 127.0.0.1 in the same namespace. The router hears edge-b one AS hop
// further away (its import filter prepends a transit AS), so edge-a is preferred while its
// path is plain, and edge-b wins once edge-a prepends 3 times (overloaded) or withdraws.
//
// Assertions are made at the router (`birdc show route … all`, `ip route`) and from the
// client (which node answers an HTTPS GET to 192.0.2.1, by its `Via: 1.1 <name>` header).
//
// The client's second address (10.255.20.3) is pinned to edge-a by a policy route on the
// router: it stands for a client in edge-a's region whose path does not change when edge-a
// is de-preferred or withdrawn. It shows that edge-a keeps serving the requests it has (an
// overloaded node, a draining node in its grace period). An established flow from the
// unpinned address has its later packets (the client's ACKs) routed to edge-b, which resets
// it: anycast's known limit. Whether the client has read edge-a's (one-segment) answer by
// then is a race, so the overload case records that flow's outcome and does not assert it.
//
// Needs root, ip, bird, birdc, exabgp and the build (dist/); otherwise skipped with the
// reason printed.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestPki } from '../helpers/certs.js';
import { BGP_TEST_TIMERS, EXABGP_ENV, edgeBirdConfig, exabgpConfig } from '../helpers/netns-speakers.js';
import { Lab, netnsUnavailable, run, waitUntil, type BirdRouter, type LabProcess, type Netns } from '../helpers/netns.js';
import { CLI, requireBuild } from '../helpers/node-process.js';

const unavailable = netnsUnavailable(['bird', 'birdc', 'exabgp']);
if (unavailable) console.log(`[test/bgp/node-route.netns.test.ts] skipped: ${unavailable}`);

const PREFIX = '192.0.2.1/32';
const ANYCAST = '192.0.2.1';
const ROUTER_AS = 65000;
const TRANSIT_AS = 65100;
const ADMIN_PORT = 9901;
const ORIGIN_PORT = 18080;
const ADMIN_TOKEN = 'node-route-test-admin-token';
const CLIENT_ADDR = '10.255.20.2';
/** Pinned to edge-a by a policy route on the router. */
const PINNED_ADDR = '10.255.20.3';
const PINNED_TABLE = '121';

interface EdgeSpec { tag: 'a' | 'b'; name: string; speaker: 'bird' | 'exabgp'; as: number; addr: string; routerAddr: string; routerProto: string }
const A: EdgeSpec = { tag: 'a', name: 'edge-a', speaker: 'bird', as: 65001, addr: '10.255.21.2', routerAddr: '10.255.21.1', routerProto: 'edge_a' };
const B: EdgeSpec = { tag: 'b', name: 'edge-b', speaker: 'exabgp', as: 65002, addr: '10.255.22.2', routerAddr: '10.255.22.1', routerProto: 'edge_b' };
const PLAIN_A = String(A.as);
const PREPENDED_A = [A.as, A.as, A.as, A.as].join(' ');
const PATH_B = `${TRANSIT_AS} ${B.as}`;

/** Sidecar timers from the issue: probe every 200 ms, 50 ms while a transition is pending. */
const SIDECAR_FAST = ['--interval', '200ms', '--fast-interval', '50ms', '--rise', '2', '--fall', '2', '--timeout', '150ms', '--refresh', '5s', '--prepend', '3'];

// BIRD's defaults are made for the internet ("error wait time 60, 300", "start delay time 5").

const routerConfig = `
router id 10.255.20.1;
log stderr { warning, error, fatal };
protocol device { }
protocol kernel { ipv4 { import none; export all; }; }
filter from_a { if net ~ [ 192.0.2.0/24{32,32} ] then accept; reject; }
# edge-b is one transit AS further away from this router's clients.
filter from_b { if ! (net ~ [ 192.0.2.0/24{32,32} ]) then reject; bgp_path.prepend(${TRANSIT_AS}); accept; }
protocol bgp ${A.routerProto} {
  local as ${ROUTER_AS}; neighbor ${A.addr} as ${A.as}; source address ${A.routerAddr};
  ipv4 { import filter from_a; export none; };
  ${BGP_TEST_TIMERS}
}
# ExaBGP never listens: the router must accept its connection.
protocol bgp ${B.routerProto} {
  local as ${ROUTER_AS}; neighbor ${B.addr} as ${B.as}; source address ${B.routerAddr}; passive on;
  ipv4 { import filter from_b; export none; };
  ${BGP_TEST_TIMERS}
}
`;

// The origin: /healthz answers at once, ?ms=N answers after N ms; never cacheable.
const ORIGIN_SCRIPT = `
const http = require('node:http');
http.createServer((req, res) => {
  const ms = Number(new URL(req.url, 'http://o').searchParams.get('ms') || 0);
  setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }); res.end('origin ok\\n'); }, ms);
}).listen(${ORIGIN_PORT}, '127.0.0.1', () => console.log('origin listening'));
process.on('SIGTERM', () => process.exit(0));
`;

// The client: HTTPS GETs to the anycast address, concurrently, one JSON line per answer.
// argv[1]: { ca, timeout, reqs: [{ id, path, from? }] }
const CLIENT_SCRIPT = `
const https = require('node:https');
const o = JSON.parse(process.argv[1]);
const ca = require('node:fs').readFileSync(o.ca);
let left = o.reqs.length;
for (const r of o.reqs) {
  const t0 = Date.now();
  let reported = false;
  const done = (x) => {
    if (reported) return;
    reported = true;
    process.stdout.write(JSON.stringify({ id: r.id, ms: Date.now() - t0, ...x }) + '\\n');
    if (--left === 0) process.exit(0);
  };
  const req = https.request({ host: '${ANYCAST}', port: 443, path: r.path, ca, agent: false, timeout: o.timeout, headers: { connection: 'close' }, ...(r.from ? { localAddress: r.from } : {}) }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { body += d; });
    res.on('end', () => done({ status: res.statusCode, via: res.headers.via, body: body.trim() }));
    res.on('error', (e) => done({ error: e.code || e.message }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => done({ error: e.code || e.message }));
  req.end();
}
`;

interface ClientResult { id: string; ms: number; status?: number; via?: string; body?: string; error?: string }

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: Math.round(s[0] ?? NaN), median: Math.round(s[Math.floor(s.length / 2)] ?? NaN), max: Math.round(s.at(-1) ?? NaN) };
};

describe.skipIf(unavailable !== undefined)('the real node announces, de-prefers and withdraws its anycast route (BIRD 2, ExaBGP, netns)', () => {
  let lab: Lab;
  let router: BirdRouter;
  let edgeBird: BirdRouter;
  let caFile: string;
  let pkiDir: string | undefined;
  const ns: Record<string, Netns> = {};
  const timings: Record<string, number[]> = {};
  const notes: Record<string, unknown> = {};
  const record = (k: string, ms: number): void => { (timings[k] ??= []).push(ms); };

  // ---- one edge: origin, node, sidecar ---------------------------------------------------

  class Edge {
    readonly spec: EdgeSpec;
    readonly configFile: string;
    origin: LabProcess | undefined;
    node: LabProcess | undefined;
    /** edge-a: the sidecar process; edge-b: ExaBGP (its stderr carries the sidecar's logs). */
    sidecar: LabProcess | undefined;
    /** Pids stopped with SIGSTOP, to continue if a test fails half-way. */
    readonly stopped = new Set<number>();

    constructor(spec: EdgeSpec, config: Record<string, unknown>) {
      this.spec = spec;
      this.configFile = lab.file(`${spec.tag}.yaml`, stringify(config));
    }

    get ns(): Netns { return ns[this.spec.tag]!; }

    async startOrigin(): Promise<void> {
      this.origin = lab.spawn(this.ns, `origin ${this.spec.tag}`, process.execPath, ['-e', ORIGIN_SCRIPT]);
      await this.origin.waitForLine(`origin ${this.spec.tag}`, (l) => l === 'origin listening', { timeout: 10_000 });
    }

    async killOrigin(): Promise<void> {
      const o = this.origin;
      this.origin = undefined;
      o?.signal('SIGKILL');
      await o?.exited;
    }

    async startNode(): Promise<void> {
      const node = lab.spawn(this.ns, `node ${this.spec.tag}`, process.execPath, [CLI, 'start', '--config', this.configFile]);
      this.node = node;
      await node.waitForLine(`${this.spec.name} ready`, (l) => l.includes('"anyedge ready"'), { timeout: 20_000 });
    }

    /** The node's worker processes (children of the supervisor). */
    async workerPids(): Promise<number[]> {
      const out = await run('pgrep', ['-P', String(this.node!.pid)]).catch(() => '');
      return out.split(/\s+/).filter(Boolean).map(Number);
    }

    /**
     * SIGKILL for the supervisor and its workers at once, as a crash or the OOM killer would.
     * Returns when the signals were sent, with a promise for the processes being gone.
     */
    async killNode(): Promise<{ killedAt: number; gone: Promise<unknown> }> {
      const node = this.node!;
      const workers = await this.workerPids();
      const killedAt = performance.now();
      for (const pid of workers) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      node.signal('SIGKILL');
      const gone = node.exited.then(() => waitUntil('workers gone', () => workers.every((pid) => !alive(pid)), { timeout: 5000, every: 10 }));
      return { killedAt, gone };
    }

    async startSidecar(extra: string[] = ['--dampening', 'off']): Promise<void> {
      const flags = ['sidecar', '--speaker', this.spec.speaker, '--prefix', PREFIX, '--readyz', `http://${this.spec.addr}:${ADMIN_PORT}/readyz`, '--local-as', String(this.spec.as), ...SIDECAR_FAST, ...extra];
      if (this.spec.speaker === 'bird') {
        this.sidecar = lab.spawn(this.ns, `sidecar ${this.spec.tag}`, process.execPath, [CLI, ...flags, '--bird-socket', edgeBird.socket, '--bird-protocol', 'anycast']);
      } else {
        const conf = lab.file(`exabgp-${this.spec.tag}.conf`, exabgpConfig(this.spec, ROUTER_AS, [process.execPath, CLI, ...flags].join(' ')));
        this.sidecar = lab.spawn(this.ns, `exabgp ${this.spec.tag}`, 'exabgp', [conf], { env: { ...process.env, ...EXABGP_ENV } });
      }
      const sc = this.sidecar;
      await waitUntil(`${this.spec.name} sidecar to start`, () => {
        if (!sc.running) throw new Error(`sidecar ${this.spec.tag} exited: ${sc.tail()}`);
        return this.sidecarLogs().some((l) => l['msg'] === 'sidecar starting');
      }, { timeout: 15_000 });
    }

    sidecarLogs(): Array<Record<string, unknown>> {
      return (this.sidecar?.json() ?? []).filter((l) => l['proc'] === 'sidecar');
    }

    nodeLogs(): Array<Record<string, unknown>> {
      return this.node?.json() ?? [];
    }

    /** GET /readyz on the unicast admin address, from inside the edge namespace. */
    async readyz(): Promise<{ status: number; state: string }> {
      const script = `fetch('http://${this.spec.addr}:${ADMIN_PORT}/readyz', { signal: AbortSignal.timeout(1000) }).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, state: (await r.json()).state })), (e) => process.stdout.write(JSON.stringify({ status: 0, state: 'unreachable: ' + (e.cause?.code ?? e.name) })))`;
      return JSON.parse(await lab.exec(this.ns, process.execPath, ['-e', script], { timeout: 5000 })) as { status: number; state: string };
    }
  }

  let a: Edge;
  let b: Edge;

  /** The process exists and is not a zombie (killed workers wait for init to reap them). */
  const alive = (pid: number): boolean => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  const nodeConfig = (e: EdgeSpec, cert: { certFile: string; keyFile: string }) => ({
    name: e.name,
    workers: 1,
    listeners: [{ address: ANYCAST, port: 443, tls: true }],
    certificates: [{ names: [ANYCAST, 'localhost'], cert: cert.certFile, key: cert.keyFile }],
    hosts: [{ names: [ANYCAST, 'localhost'], origins: [`http://127.0.0.1:${ORIGIN_PORT}`] }],
    admin: { address: e.addr, port: ADMIN_PORT, token: ADMIN_TOKEN },
    log: { level: 'info', access: true, pretty: false },
    // Long enough for the withdrawal to reach the router (a probe interval plus BGP) with room.
    shutdown: { grace: '3s', deadline: '5s' },
    origin: { healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms', rise: 1, fall: 2 } },
    health: { maintenanceFile: join(lab.dir, `${e.tag}-maintenance`) },
    // Overloaded from 2 of 8 concurrent requests (pressure 0.25); the other actions only at 8.
    // The event-loop and origin-error signals are parked out of reach so that CPU contention
    // between the lab's processes, or the origin kills of other cases, never read as overload.
    overload: {
      interval: '100ms',
      inflightRequests: { low: 0, high: 8 },
      eventLoopDelayMs: { low: 1000, high: 5000 },
      eventLoopUtilization: { low: 2, high: 3 },
      originErrorRate: { low: 2, high: 3 },
      actions: { disableKeepAlive: 1, shedOriginRequests: 1, reportOverloaded: 0.25, reportFailing: 1 },
      hysteresis: 0.1,
    },
  });

  beforeAll(async () => {
    requireBuild();
    lab = new Lab('noderoute');
    const pki = await createTestPki();
    caFile = pki.caFile;
    pkiDir = pki.dir;
    const cert = await pki.leaf([ANYCAST, 'localhost']);

    ns['r'] = await lab.namespace('router');
    ns['c'] = await lab.namespace('client');
    await lab.enableForwarding(ns['r']);
    const cl = await lab.link(ns['r'], '10.255.20.1/24', ns['c'], `${CLIENT_ADDR}/24`);
    await lab.ip(ns['c'], 'addr', 'add', `${PINNED_ADDR}/24`, 'dev', cl.b);
    await lab.ip(ns['c'], 'route', 'add', 'default', 'via', '10.255.20.1', 'src', CLIENT_ADDR);
    for (const e of [A, B]) {
      const edge = (ns[e.tag] = await lab.namespace(e.tag));
      await lab.link(ns['r'], `${e.routerAddr}/30`, edge, `${e.addr}/30`);
      await lab.addLoopbackAddress(edge, PREFIX);
      await lab.ip(edge, 'route', 'add', 'default', 'via', e.routerAddr);
    }
    // The pinned client's packets to the anycast address always go to edge-a (see the header).
    await lab.ip(ns['r'], 'route', 'add', `${ANYCAST}/32`, 'via', A.addr, 'table', PINNED_TABLE);
    await lab.ip(ns['r'], 'rule', 'add', 'from', PINNED_ADDR, 'lookup', PINNED_TABLE);

    router = await lab.bird(ns['r'], 'router', routerConfig);
    edgeBird = await lab.bird(ns['a']!, 'edge-a', edgeBirdConfig(A, ROUTER_AS, PREFIX));

    a = new Edge(A, nodeConfig(A, cert));
    b = new Edge(B, nodeConfig(B, cert));
    await Promise.all([a.startOrigin(), b.startOrigin()]);
    await Promise.all([a.startNode(), b.startNode()]);
    await Promise.all([a.startSidecar(), b.startSidecar()]);
    await waitUntil('both routes at the router', async () => (await routeFrom(A)) !== undefined && (await routeFrom(B)) !== undefined, { timeout: 30_000, every: 50 });
  }, 90_000);

  afterAll(async () => {
    for (const e of [a, b]) for (const pid of e?.stopped ?? []) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
    await lab?.cleanup();
    if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
    console.log(`[node-route timings] ${JSON.stringify({ unit: 'ms', ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, stats(v)])), ...notes })}`);
  }, 60_000);

  /** Every case starts from: both edges healthy, edge-a preferred with a plain path. */
  beforeEach(async () => {
    for (const pid of a.stopped) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
    a.stopped.clear();
    if (!a.origin?.running) await a.startOrigin();
    if (!a.node?.running) await a.startNode();
    if (!a.sidecar?.running) await a.startSidecar();
    await waitUntil('edge-a preferred at the router with a plain path', async () => (await routeFrom(A))?.asPath === PLAIN_A && (await kernelVia()) === A.addr, { timeout: 20_000, every: 20 });
    await waitUntil('edge-b at the router', async () => (await routeFrom(B))?.asPath === PATH_B, { timeout: 20_000, every: 20 });
    await waitUntil('the client reaching edge-a', async () => (await reaches()) === A.name, { timeout: 5000, every: 20 });
  }, 60_000);

  // ---- what the router sees, what the client gets ----------------------------------------

  /** The route the router learnt from one edge, with its AS path; undefined when none. */
  async function routeFrom(e: EdgeSpec): Promise<{ asPath: string } | undefined> {
    let out: string;
    try {
      out = await router.birdc('show', 'route', PREFIX, 'protocol', e.routerProto, 'all');
    } catch (err) {
      if (/Network not found/.test((err as Error).message)) return undefined; // birdc exits 1
      throw err;
    }
    if (!out.includes(PREFIX)) return undefined;
    return { asPath: /BGP\.as_path:\s*(.*)/.exec(out)?.[1]?.trim() ?? '' };
  }

  /** Next hop of the anycast route in the router's kernel (main) table. */
  async function kernelVia(): Promise<string | undefined> {
    return /via (\S+)/.exec(await lab.ip(ns['r']!, 'route', 'show', PREFIX))?.[1];
  }

  const withdrawnFromA = async () => (await routeFrom(A)) === undefined && (await kernelVia()) === B.addr;

  /** Runs requests from the client namespace to completion. */
  async function requests(reqs: Array<{ id: string; path: string; from?: string }>, timeout = 1500): Promise<ClientResult[]> {
    const out = await lab.exec(ns['c']!, process.execPath, ['-e', CLIENT_SCRIPT, JSON.stringify({ ca: caFile, timeout, reqs })], { timeout: timeout + 5000 });
    return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ClientResult);
  }

  const nameOf = (r: ClientResult | undefined): string =>
    r === undefined ? 'no answer' : r.error !== undefined ? `unreachable: ${r.error}` : r.status !== 200 ? `status ${r.status}` : (/^1\.1 (\S+)$/.exec(r.via ?? '')?.[1] ?? `via ${r.via}`);

  /** Which node answers GET https://192.0.2.1/ from the client (by its Via header). */
  async function reaches(from?: string): Promise<string> {
    const [r] = await requests([{ id: 'probe', path: '/', ...(from ? { from } : {}) }]);
    return nameOf(r);
  }

  /** Waits for `check`, returns the milliseconds since t0. */
  async function timeUntil(what: string, t0: number, check: () => Promise<boolean>, timeout = 10_000): Promise<number> {
    await waitUntil(what, check, { timeout, every: 5 });
    return performance.now() - t0;
  }

  // ---- the cases ---------------------------------------------------------------------------

  it('both healthy: the router has both paths, prefers edge-a, and the client reaches edge-a', async () => {
    expect(await routeFrom(A)).toEqual({ asPath: PLAIN_A });
    expect(await routeFrom(B)).toEqual({ asPath: PATH_B });
    expect(await kernelVia()).toBe(A.addr);
    expect(await a.readyz()).toEqual({ status: 200, state: 'ready' });
    expect(await b.readyz()).toEqual({ status: 200, state: 'ready' });
    const answers = await requests([{ id: '1', path: '/' }, { id: '2', path: '/' }, { id: 'pinned', path: '/', from: PINNED_ADDR }]);
    expect(answers.map(nameOf)).toEqual([A.name, A.name, A.name]);
    expect(answers[0]).toMatchObject({ status: 200, body: 'origin ok' });
  }, 30_000);

  it('origin failure withdraws edge-a (the client moves to edge-b); the origin back announces it again after rise', async () => {
    for (let i = 0; i < 3; i++) {
      let t0 = performance.now();
      await a.killOrigin();
      record('originKilledToWithdrawn', await timeUntil('edge-a withdrawn at the router', t0, withdrawnFromA));
      expect(await reaches()).toBe(B.name);
      expect(await a.readyz()).toMatchObject({ status: 503, state: 'failing' });

      t0 = performance.now();
      await a.startOrigin();
      record('originBackToAnnounced', await timeUntil('edge-a back at the router', t0, async () => (await kernelVia()) === A.addr));
      expect(await routeFrom(A)).toEqual({ asPath: PLAIN_A });
      expect(await reaches()).toBe(A.name);
    }
    const t = a.sidecarLogs().filter((l) => l['event'] === 'transition');
    expect(t.find((x) => x['to'] === 'DOWN' && x['from'] === 'FALLING')).toMatchObject({ reason: expect.stringMatching(/probe failed 2\/2 \(fall\)/), probe: { status: 503, state: 'failing' } });
  }, 60_000);

  it('a blocked event loop (worker SIGSTOPped) withdraws edge-a; SIGCONT brings it back', async () => {
    const workers = await a.workerPids();
    expect(workers.length).toBe(1);
    const t0 = performance.now();
    for (const pid of workers) { process.kill(pid, 'SIGSTOP'); a.stopped.add(pid); }
    record('workerStoppedToWithdrawn', await timeUntil('edge-a withdrawn at the router', t0, withdrawnFromA, 15_000));
    expect(await reaches()).toBe(B.name);
    // The supervisor still answers /readyz: it is the worker that stopped reporting.
    expect(await a.readyz()).toMatchObject({ status: 503, state: 'failing' });

    const t1 = performance.now();
    for (const pid of workers) process.kill(pid, 'SIGCONT');
    a.stopped.clear();
    record('workerContinuedToAnnounced', await timeUntil('edge-a back at the router', t1, async () => (await kernelVia()) === A.addr));
    expect(await routeFrom(A)).toEqual({ asPath: PLAIN_A });
    expect(await reaches()).toBe(A.name);
  }, 60_000);

  it('overloaded: edge-a is prepended (not withdrawn), the client moves to edge-b while edge-a finishes the requests it has', async () => {
    const withdrawsBefore = await importWithdraws(A);
    // Three slow requests make edge-a overloaded (3 of 8 in flight): two from the pinned
    // address, one from the client's own address (its flow moves to edge-b with the route).
    const slow = lab.spawn(ns['c']!, 'slow client', process.execPath, ['-e', CLIENT_SCRIPT, JSON.stringify({
      ca: caFile, timeout: 15_000,
      reqs: [
        { id: 'pinned-1', path: '/slow?ms=5000&n=1', from: PINNED_ADDR },
        { id: 'pinned-2', path: '/slow?ms=5000&n=2', from: PINNED_ADDR },
        { id: 'unpinned', path: '/slow?ms=5000&n=3', from: CLIENT_ADDR },
      ],
    })]);
    const t0 = performance.now();
    record('overloadedToPrepended', await timeUntil('edge-a prepended at the router', t0, async () => (await routeFrom(A))?.asPath === PREPENDED_A && (await kernelVia()) === B.addr));
    const [readyz, answers] = await Promise.all([a.readyz(), requests([{ id: 'client', path: '/' }, { id: 'pinned', path: '/', from: PINNED_ADDR }])]);
    expect(slow.running).toBe(true); // all of this while the slow requests are in flight
    expect(readyz).toEqual({ status: 200, state: 'overloaded' });
    expect(nameOf(answers.find((r) => r.id === 'client'))).toBe(B.name);
    expect(nameOf(answers.find((r) => r.id === 'pinned'))).toBe(A.name); // a client without another path still gets edge-a

    await slow.exited;
    const results = slow.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ClientResult);
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    expect(byId['pinned-1']).toMatchObject({ status: 200, via: `1.1 ${A.name}`, body: 'origin ok' });
    expect(byId['pinned-2']).toMatchObject({ status: 200, via: `1.1 ${A.name}`, body: 'origin ok' });
    notes['overloadUnpinnedInflightRequest'] = byId['unpinned']?.error ?? `${byId['unpinned']?.status} ${byId['unpinned']?.via}`;
    // edge-a itself served all three to the end. (Workers write access lines in batches,
    // at least every 250 ms: wait for them rather than read at once.)
    const slowLines = (): Array<Record<string, unknown>> => a.nodeLogs().filter((l) => l['msg'] === 'request' && String(l['path']).startsWith('/slow?ms=5000'));
    const served = await waitUntil('edge-a logged the three slow requests', () => { const l = slowLines(); return l.length >= 3 && l; }, { timeout: 5000, every: 50 });
    expect(served.map((l) => l['status'])).toEqual([200, 200, 200]);

    const t1 = performance.now();
    record('overloadEndedToPlain', await timeUntil('edge-a plain again', t1, async () => (await routeFrom(A))?.asPath === PLAIN_A && (await kernelVia()) === A.addr));
    expect(await reaches()).toBe(A.name);
    expect(await importWithdraws(A)).toBe(withdrawsBefore); // de-preferred, never withdrawn
    expect(a.sidecarLogs().filter((l) => l['event'] === 'transition').map((l) => l['to'])).toEqual(expect.arrayContaining(['OVERLOADED', 'UP']));
  }, 60_000);

  it('a killed node (SIGKILL, supervisor and worker) is withdrawn after fall; restarted, it is announced again', async () => {
    for (let i = 0; i < 3; i++) {
      const { killedAt, gone } = await a.killNode();
      record('nodeKilledToWithdrawn', await timeUntil('edge-a withdrawn at the router', killedAt, withdrawnFromA));
      await gone;
      expect(await reaches()).toBe(B.name);

      const t1 = performance.now();
      await a.startNode();
      const t2 = performance.now();
      await waitUntil('edge-a back at the router', async () => (await kernelVia()) === A.addr, { timeout: 20_000, every: 5 });
      record('nodeStartedToAnnounced', performance.now() - t1);
      record('nodeReadyToAnnounced', performance.now() - t2);
      expect(await reaches()).toBe(A.name);
    }
    const down = a.sidecarLogs().filter((l) => l['event'] === 'transition' && l['to'] === 'DOWN').at(-1);
    expect(down).toMatchObject({ probe: { error: 'ECONNREFUSED' } });
  }, 90_000);

  it('SIGTERM: the route is withdrawn while the node still serves (draining, grace 3 s), then the node exits 0', async () => {
    const node = a.node!;
    const seen = a.sidecarLogs().filter((l) => l['event'] === 'transition').length;
    const t0 = performance.now();
    node.signal('SIGTERM');
    record('sigtermToWithdrawn', await timeUntil('edge-a withdrawn at the router', t0, withdrawnFromA, 5000));
    // Withdrawn, and still within shutdown.grace (3 s): the node says "draining" and still
    // answers a client whose packets reach it, while the client's own address gets edge-b.
    expect(node.running).toBe(true);
    const [readyz, answers] = await Promise.all([a.readyz(), requests([{ id: 'pinned', path: '/', from: PINNED_ADDR }, { id: 'client', path: '/' }])]);
    expect(readyz).toEqual({ status: 503, state: 'draining' });
    expect(answers.find((r) => r.id === 'pinned')).toMatchObject({ status: 200, via: `1.1 ${A.name}` });
    expect(nameOf(answers.find((r) => r.id === 'client'))).toBe(B.name);
    await node.exited;
    expect(node.exitCode).toBe(0);
    notes['sigtermToExit'] = Math.round(performance.now() - t0);
    // Withdrawn on the first "draining" probe, without counting to fall (then DOWN once the node is gone).
    expect(a.sidecarLogs().filter((l) => l['event'] === 'transition')[seen]).toMatchObject({ from: 'UP', to: 'DISABLED', reason: expect.stringMatching(/planned withdrawal: draining/) });
    expect(await reaches()).toBe(B.name);
  }, 60_000);

  it('flapping: an origin toggled up and down is suppressed by dampening, then announced once stable', async () => {
    // A sidecar with dampening scaled to seconds: ~3 quick flaps suppress, ~3 s calm release.
    a.sidecar!.signal('SIGTERM');
    await a.sidecar!.exited;
    await a.startSidecar(['--rise', '1', '--fall', '1', '--dampening-penalty', '1000', '--dampening-suppress', '2000', '--dampening-reuse', '750', '--dampening-half-life', '2s', '--dampening-max-suppress', '30s']);
    await waitUntil('edge-a announced by the new sidecar', async () => (await kernelVia()) === A.addr, { timeout: 10_000, every: 10 });
    const suppressed = () => a.sidecarLogs().some((l) => /route suppressed by dampening/.test(String(l['msg'])));
    let flaps = 0;
    for (; flaps < 8 && !suppressed(); flaps++) {
      if (flaps > 0) {
        await a.startOrigin();
        await waitUntil('ready again between flaps', async () => (await a.readyz()).state === 'ready', { timeout: 5000, every: 10 });
        if (suppressed()) break;
        await waitUntil('edge-a back between flaps', async () => (await kernelVia()) === A.addr || suppressed(), { timeout: 5000, every: 5 });
      }
      await a.killOrigin();
      await waitUntil('edge-a withdrawn', withdrawnFromA, { timeout: 5000, every: 5 });
    }
    expect(suppressed()).toBe(true);
    expect(flaps).toBeGreaterThanOrEqual(2);
    if (!a.origin?.running) await a.startOrigin();
    await waitUntil('edge-a ready', async () => (await a.readyz()).state === 'ready', { timeout: 5000, every: 10 });
    // Healthy, but suppressed: the router must not have it and the client stays on edge-b.
    const t0 = performance.now();
    expect(await routeFrom(A)).toBeUndefined();
    expect(await kernelVia()).toBe(B.addr);
    expect(await reaches()).toBe(B.name);
    notes['flapsToSuppress'] = flaps;
    notes['suppressedWhileHealthy'] = Math.round(await timeUntil('edge-a released by dampening', t0, async () => (await kernelVia()) === A.addr, 20_000));
    expect(await routeFrom(A)).toEqual({ asPath: PLAIN_A });
    expect(await reaches()).toBe(A.name);
  }, 90_000);

  /** "Import withdraws: received" for one edge's session (monotonic). */
  async function importWithdraws(e: EdgeSpec): Promise<number> {
    const out = await router.birdc('show', 'protocols', 'all', e.routerProto);
    return Number(/Import withdraws:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  }
});
