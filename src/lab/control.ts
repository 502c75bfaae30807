// A lab that exists: start and signal its processes, ask its routers and nodes what they
// see, and send one request from a client. Used by `lab up` (to start things), `lab run`
// (faults and restores) and `lab status`. Every process started here is recorded in the
// state file before anything waits on it.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXABGP_ENV, edgeBfdOnlyConfig, edgeBirdConfig, exabgpConfig, nodeConfigYaml, routerBirdConfig } from './configs.js';
import { execIn, ipIn, isAlive, processState, processTree, run, signalProcess, spawnDetachedIn, waitUntil, WaitAbort, type ProcessId } from './netns.js';
import { parseRunnerLine } from './samples.js';
import { findProcess, recordProcess, writeState, type LabState, type ProcessRecord, type ProcessRole } from './state.js';
import {
  ADMIN_PORT, ANYCAST_ADDRESS, ANYCAST_NAME, ANYCAST_PREFIX, ORIGIN_ADDRESS, ORIGIN_PORT, SIDECAR_METRICS_PORT, STEER_PREFIX,
  nodeByLinkAddress, nodeByName, regionByName, type NodePlan, type RegionName, type RegionPlan,
} from './topology.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** The scripts the lab runs inside namespaces (siblings in dist/src/lab, and the CLI). */
export const LAB_SCRIPTS = {
  cli: here('../cli.js'),
  loadRunner: here('./load-runner.js'),
  origin: here('./origin-main.js'),
  steer: here('./steer-process.js'),
} as const;

export interface RouterRoute {
  prefix: string;
  /** The BGP protocol (= node name) it was learnt from. */
  from: string;
  best: boolean;
  asPath: string;
}

export interface KernelRoute {
  prefix: string;
  via: string;
  node: string | undefined;
}

export interface NodeProbe {
  readyz?: { state?: string; reasons?: string[] } | undefined;
  readyzError?: string | undefined;
  sidecarState?: string | undefined;
  suppressed?: boolean | undefined;
}

export class LabControl {
  readonly state: LabState;

  constructor(state: LabState) {
    this.state = state;
  }

  get topology() { return this.state.topology; }

  // ---- files -------------------------------------------------------------------------

  nodeDir(n: string): string { return join(this.state.dir, n); }
  routerDir(r: RegionName): string { return join(this.state.dir, `router-${r}`); }
  get caFile(): string { return join(this.state.dir, 'ca.pem'); }
  /** Control socket of a node's BIRD (the speaker). */
  nodeBirdSocket(n: string): string { return join(this.nodeDir(n), 'bird.ctl'); }
  /** Control socket of a region router's BIRD. */
  routerSocket(r: RegionName): string { return join(this.routerDir(r), 'bird.ctl'); }
  steerControl(n: string): string { return join(this.nodeDir(n), 'steer'); }
  maintenanceFile(n: string): string { return join(this.nodeDir(n), 'maintenance'); }

  /** Writes every configuration file of the lab (idempotent). */
  writeConfigs(): void {
    const t = this.topology;
    const { speaker, bfd } = this.state.options;
    for (const r of t.regions) {
      mkdirSync(this.routerDir(r.name), { recursive: true });
      writeFileSync(join(this.routerDir(r.name), 'bird.conf'), routerBirdConfig(t, r, { speaker, bfd, logFile: join(this.routerDir(r.name), 'bird.log') }));
    }
    for (const n of t.nodes) {
      const dir = this.nodeDir(n.name);
      mkdirSync(dir, { recursive: true });
      const config = join(dir, 'anyedge.yaml');
      writeFileSync(config, nodeConfigYaml(n, speaker, {
        cert: join(this.state.dir, 'anycast.pem'),
        key: join(this.state.dir, 'anycast-key.pem'),
        maintenanceFile: this.maintenanceFile(n.name),
        birdSocket: this.nodeBirdSocket(n.name),
        token: this.state.token,
      }));
      if (speaker === 'bird') {
        writeFileSync(join(dir, 'bird.conf'), edgeBirdConfig(t, n, { bfd, logFile: join(dir, 'bird.log') }));
      } else {
        writeFileSync(join(dir, 'exabgp.conf'), exabgpConfig(t, n, { node: process.execPath, cli: LAB_SCRIPTS.cli, config, steerScript: LAB_SCRIPTS.steer, steerControl: this.steerControl(n.name) }));
        if (bfd) writeFileSync(join(dir, 'bfd.conf'), edgeBfdOnlyConfig(n, join(dir, 'bfd.log')));
      }
    }
  }

  // ---- processes ---------------------------------------------------------------------

  #spawn(role: ProcessRole, owner: string, ns: string, cmd: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ProcessRecord {
    const id = spawnDetachedIn(ns, cmd, args, { logFile: log, ...(env ? { env } : {}) });
    const rec: ProcessRecord = { ...id, role, owner, ns, log };
    recordProcess(this.state, rec);
    return rec;
  }

  process(role: ProcessRole, owner: string): ProcessRecord | undefined {
    return findProcess(this.state, role, owner);
  }

  alive(role: ProcessRole, owner: string): boolean {
    const p = this.process(role, owner);
    return p !== undefined && isAlive(p);
  }

  startOrigin(): ProcessRecord {
    return this.#spawn('origin', 'origin', this.topology.originNs, process.execPath, [LAB_SCRIPTS.origin, '--listen', `${ORIGIN_ADDRESS}:${ORIGIN_PORT}`], join(this.state.dir, 'origin.log'));
  }

  /** Starts BIRD (router, edge speaker or BFD responder) and waits for its control socket. */
  async startBird(role: 'router' | 'speaker' | 'bfd', owner: string, ns: string, dir: string, conf: string): Promise<ProcessRecord> {
    const socket = join(dir, role === 'bfd' ? 'bfd.ctl' : 'bird.ctl');
    rmSync(socket, { force: true });
    const p = this.#spawn(role, owner, ns, 'bird', ['-f', '-c', join(dir, conf), '-s', socket, '-P', join(dir, `${role}.pid`)], join(dir, `${role}.out`));
    await waitUntil(`BIRD (${role} ${owner}) to answer on ${socket}`, async () => {
      if (!isAlive(p)) throw new WaitAbort(`BIRD exited: ${tail(p.log)}`);
      return (await this.birdc(socket, 'show', 'status')).includes('Daemon is up and running');
    }, { timeout: 10_000, every: 25 });
    return p;
  }

  startRouter(r: RegionPlan): Promise<ProcessRecord> {
    return this.startBird('router', r.name, r.routerNs, this.routerDir(r.name), 'bird.conf');
  }

  /** Starts the node's anyedge and waits for "anyedge ready" in its log. */
  async startNode(n: NodePlan): Promise<ProcessRecord> {
    const log = join(this.nodeDir(n.name), 'node.log');
    const from = existsSync(log) ? statSync(log).size : 0;
    const p = this.#spawn('node', n.name, n.ns, process.execPath, [LAB_SCRIPTS.cli, 'start', '--config', join(this.nodeDir(n.name), 'anyedge.yaml')], log);
    await waitUntil(`${n.name} to log "anyedge ready"`, () => {
      const text = readFileSync(log, 'utf8').slice(from);
      if (text.includes('"msg":"anyedge ready"')) return true;
      if (!isAlive(p)) throw new WaitAbort(`${n.name} exited: ${tail(log)}`);
      return false;
    }, { timeout: 20_000, every: 50 });
    return p;
  }

  /** The speaker and, with BIRD, the sidecar (ExaBGP runs the sidecar itself). */
  async startSpeaker(n: NodePlan): Promise<void> {
    const dir = this.nodeDir(n.name);
    const { speaker, bfd } = this.state.options;
    if (speaker === 'bird') {
      await this.startBird('speaker', n.name, n.ns, dir, 'bird.conf');
      this.startSidecar(n);
    } else {
      if (bfd) await this.startBird('bfd', n.name, n.ns, dir, 'bfd.conf');
      this.startExabgp(n);
    }
  }

  startSidecar(n: NodePlan): ProcessRecord {
    const dir = this.nodeDir(n.name);
    return this.#spawn('sidecar', n.name, n.ns, process.execPath, [
      LAB_SCRIPTS.cli, 'sidecar', '--config', join(dir, 'anyedge.yaml'), '--metrics', `${n.adminAddr}:${SIDECAR_METRICS_PORT}`,
    ], join(dir, 'sidecar.log'));
  }

  startExabgp(n: NodePlan): ProcessRecord {
    const dir = this.nodeDir(n.name);
    return this.#spawn('speaker', n.name, n.ns, 'exabgp', [join(dir, 'exabgp.conf')], join(dir, 'exabgp.log'), { ...process.env, ...EXABGP_ENV });
  }

  /** Where the node's sidecar logs (ExaBGP passes its API process's stderr through). */
  sidecarLog(node: string): string {
    return join(this.nodeDir(node), this.state.options.speaker === 'bird' ? 'sidecar.log' : 'exabgp.log');
  }

  /** The node's supervisor and workers, identified now. */
  nodeProcesses(node: string): ProcessId[] {
    const p = this.process('node', node);
    return p ? processTree(p) : [];
  }

  /** Everything that makes the node a node: anyedge, sidecar, speaker, BFD responder. */
  wholeNode(node: string): ProcessId[] {
    const out = this.nodeProcesses(node);
    for (const role of ['sidecar', 'speaker', 'bfd'] as const) {
      const p = this.process(role, node);
      if (p) out.push(...processTree(p));
    }
    return out;
  }

  signalAll(ps: ProcessId[], sig: NodeJS.Signals): number {
    return ps.filter((p) => signalProcess(p, sig)).length;
  }

  /** SIGCONT to every recorded process (and its children): undoes a freeze left by a killed run. */
  thawAll(): void {
    for (const p of this.state.processes) {
      for (const q of processTree(p)) if (processState(q.pid) === 'T') signalProcess(q, 'SIGCONT');
    }
  }

  save(): void {
    writeState(this.state);
  }

  // ---- routers -----------------------------------------------------------------------

  birdc(socket: string, ...args: string[]): Promise<string> {
    return run('birdc', ['-s', socket, ...args], { timeout: 5000 });
  }

  /** Routes for the anycast range (the /24 and any more-specific) in a region router's BIRD. */
  async routerRoutes(region: RegionName): Promise<RouterRoute[]> {
    let out: string;
    try {
      out = await this.birdc(this.routerSocket(region), 'show', 'route', 'in', ANYCAST_PREFIX, 'all');
    } catch (err) {
      if (/Network not found/.test((err as Error).message)) return [];
      throw err;
    }
    return parseBirdRoutes(out);
  }

  /** BGP session state per node, as the region router sees it. */
  async sessions(region: RegionName): Promise<Record<string, string>> {
    const out = await this.birdc(this.routerSocket(region), 'show', 'protocols');
    const states: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const m = /^(edge\d+)\s+BGP\s+\S+\s+(\S+)\s+\S+\s+(\S+)/.exec(line);
      if (m) states[m[1]!] = m[2] === 'up' ? m[3]! : `${m[2]} (${m[3]})`;
    }
    return states;
  }

  /** The anycast routes in the region router's kernel table. */
  async kernelRoutes(region: RegionName): Promise<KernelRoute[]> {
    const out = await ipIn(regionByName(this.topology, region).routerNs, 'route', 'show');
    return parseKernelRoutes(out, (a) => nodeByLinkAddress(this.topology, a));
  }

  /** The node the region's packets to the anycast address go to now (longest match). */
  async effectiveNode(region: RegionName): Promise<string | undefined> {
    return effectiveNodeOf(await this.kernelRoutes(region));
  }

  // ---- nodes and clients ---------------------------------------------------------------

  /** /readyz and the sidecar's state, asked from inside the node's namespace. */
  async probeNode(node: string): Promise<NodeProbe> {
    const n = nodeByName(this.topology, node);
    const script = `
      const t = (u) => fetch(u, { signal: AbortSignal.timeout(1000) });
      const out = {};
      try { const r = await t('http://${n.adminAddr}:${ADMIN_PORT}/readyz'); out.readyz = await r.json(); } catch (e) { out.readyzError = e.cause?.code ?? e.name; }
      try {
        const m = await (await t('http://${n.adminAddr}:${SIDECAR_METRICS_PORT}/metrics')).text();
        out.sidecarState = /anyedge_sidecar_state\\{state="(\\w+)"\\} 1/.exec(m)?.[1];
        out.suppressed = /^anyedge_sidecar_dampening_suppressed 1$/m.test(m);
      } catch {}
      process.stdout.write(JSON.stringify(out));`;
    try {
      return JSON.parse(await execIn(n.ns, process.execPath, ['--input-type=module', '-e', script], { timeout: 5000 })) as NodeProbe;
    } catch (err) {
      return { readyzError: (err as Error).message.split('\n')[0] };
    }
  }

  /** One GET https://192.0.2.1/ from the region's client: the node that answered, or the error. */
  async reach(region: RegionName): Promise<{ node?: string; error?: string }> {
    const r = regionByName(this.topology, region);
    try {
      const out = await execIn(r.clientNs, process.execPath, [
        LAB_SCRIPTS.loadRunner, '--engine', 'once', '--url', `https://${ANYCAST_ADDRESS}/cacheable`, '--host', ANYCAST_NAME, '--ca', this.caFile, '--timeout', '1500',
      ], { timeout: 8000 });
      for (const line of out.split('\n')) {
        const l = parseRunnerLine(line);
        if (l?.type === 'once') return l.node !== undefined ? { node: l.node } : { error: l.error ?? 'unknown' };
      }
      return { error: 'no answer from the load runner' };
    } catch (err) {
      return { error: (err as Error).message.split('\n')[0] ?? 'failed' };
    }
  }

  /** Announces (on) or withdraws (off) the more-specific steer prefix from a node. */
  async steer(node: string, on: boolean): Promise<void> {
    if (this.state.options.speaker === 'bird') {
      const out = await this.birdc(this.nodeBirdSocket(node), on ? 'enable' : 'disable', 'steer');
      if (!/abled/.test(out)) throw new Error(`birdc ${on ? 'enable' : 'disable'} steer: ${out.trim()}`);
    } else {
      writeFileSync(this.steerControl(node), on ? 'announce\n' : 'withdraw\n');
    }
  }
}

/** Parses `birdc show route … all` (BIRD 2): one entry per route, with its protocol and AS path. */
export function parseBirdRoutes(out: string): RouterRoute[] {
  const routes: RouterRoute[] = [];
  let prefix = '';
  let cur: RouterRoute | undefined;
  for (const line of out.split('\n')) {
    const m = /^(\d+\.\d+\.\d+\.\d+\/\d+)?\s+\w+\s+\[(\S+)\s[^\]]*\]\s+(\*)?/.exec(line);
    if (m && /\[/.test(line) && !line.startsWith('\t')) {
      if (m[1]) prefix = m[1];
      cur = { prefix, from: m[2]!, best: m[3] === '*', asPath: '' };
      routes.push(cur);
      continue;
    }
    const path = /BGP\.as_path:\s*(.*)$/.exec(line);
    if (path && cur) cur.asPath = path[1]!.trim();
  }
  return routes;
}

export function parseKernelRoutes(out: string, nodeOf: (addr: string) => string | undefined): KernelRoute[] {
  const routes: KernelRoute[] = [];
  for (const line of out.split('\n')) {
    const m = /^(192\.0\.2\.\d+\/\d+)\s+via\s+(\S+)/.exec(line.trim());
    if (m) routes.push({ prefix: m[1]!, via: m[2]!, node: nodeOf(m[2]!) });
  }
  return routes;
}

/** The node that longest-prefix match sends the anycast address to. */
export function effectiveNodeOf(routes: readonly KernelRoute[]): string | undefined {
  const len = (p: string): number => Number(p.split('/')[1]);
  const covering = routes.filter((r) => r.prefix === ANYCAST_PREFIX || r.prefix === STEER_PREFIX || r.prefix === `${ANYCAST_ADDRESS}/32`);
  return [...covering].sort((a, b) => len(b.prefix) - len(a.prefix))[0]?.node;
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
