// `anyedge lab up`: builds the topology planned in topology.ts, step by step, recording each
// namespace and process in the state file the moment it exists. Any failure (or Ctrl-C)
// removes everything built so far before the error is reported: a failed `up` leaves nothing.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../server/certificates.js';
import type { Speaker } from './configs.js';
import { LabControl } from './control.js';
import { labDown } from './lab-down.js';
import { addNamespace, addVethLink, ipIn, listNamespaces, netnsUnavailable, sysctlIn, waitUntil } from './netns.js';
import { readState, recordNamespace, stateDir, writeState, type LabState } from './state.js';
import { ANYCAST_ADDRESS, ANYCAST_NAME, ANYCAST_PREFIX, EDGE_AS, ORIGIN_ADDRESS, TRANSIT_AS, namespacesOf, planTopology } from './topology.js';

export const UP_STEPS = ['certificates', 'namespaces', 'links', 'origin', 'routers', 'edges', 'converge'] as const;
export type UpStep = (typeof UP_STEPS)[number];

export interface UpOptions {
  lab: string;
  stateRoot: string;
  nodes: number;
  speaker: Speaker;
  bfd: boolean;
  /** Tests: throw after this step has created its part, to prove the clean-up. */
  failAfter?: UpStep | undefined;
  log?: (msg: string) => void;
}

/** Why the lab cannot run here, or undefined. */
export function labUnavailable(speaker: Speaker): string | undefined {
  return netnsUnavailable(speaker === 'bird' ? ['bird', 'birdc'] : ['bird', 'birdc', 'exabgp']);
}

export async function labUp(opts: UpOptions): Promise<LabState> {
  const log = opts.log ?? (() => {});
  const why = labUnavailable(opts.speaker);
  if (why) throw new Error(`the lab cannot run here: ${why}`);
  const topology = planTopology(opts.lab, opts.nodes);
  const dir = stateDir(opts.stateRoot, opts.lab);
  const existing = readState(dir);
  if (existing) throw new Error(`lab "${opts.lab}" already exists (${existing.status}, ${dir}); run "anyedge lab down --lab ${opts.lab}" first`);
  const leftovers = (await listNamespaces()).filter((n) => n.startsWith(topology.prefix));
  if (leftovers.length) throw new Error(`namespaces of lab "${opts.lab}" are left over (${leftovers.join(', ')}); run "anyedge lab down --lab ${opts.lab}" first`);

  mkdirSync(dir, { recursive: true });
  const state: LabState = {
    version: 1,
    lab: opts.lab,
    dir,
    status: 'building',
    createdAt: new Date().toISOString(),
    options: { nodes: opts.nodes, speaker: opts.speaker, bfd: opts.bfd },
    topology,
    token: randomBytes(24).toString('hex'),
    namespaces: [],
    processes: [],
  };
  writeState(state);
  const lab = new LabControl(state);

  // Ctrl-C or SIGTERM during `up`: stop at the next step boundary or wait, then clean up.
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => abort.abort(new Error(`interrupted by ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let step: UpStep = 'certificates';
  const done = (s: UpStep): void => {
    abort.signal.throwIfAborted();
    if (opts.failAfter === s) throw new Error(`injected failure after step "${s}"`);
  };
  const t0 = performance.now();
  try {
    step = 'certificates';
    const ca = await createCertificateAuthority('anyedge lab CA');
    const leaf = await issueCertificate(ca, { names: [ANYCAST_NAME, ANYCAST_ADDRESS] });
    writeFileSync(join(dir, 'ca.pem'), `${ca.cert.trim()}\n`);
    writeFileSync(join(dir, 'anycast.pem'), `${leaf.cert.trim()}\n${ca.cert.trim()}\n`);
    writeFileSync(join(dir, 'anycast-key.pem'), `${leaf.key.trim()}\n`, { mode: 0o600 });
    lab.writeConfigs();
    done(step);

    step = 'namespaces';
    for (const ns of namespacesOf(topology)) {
      recordNamespace(state, ns); // recorded first: a kill between the two leaves a name to sweep, not a hidden namespace
      await addNamespace(ns);
    }
    log(`namespaces: ${namespacesOf(topology).join(' ')}`);
    done(step);

    step = 'links';
    await ipIn(topology.originNs, 'addr', 'add', `${ORIGIN_ADDRESS}/32`, 'dev', 'lo');
    for (const r of topology.regions) {
      await sysctlIn(r.routerNs, 'net.ipv4.ip_forward=1');
      await addVethLink({ ns: r.routerNs, ifname: 'to-client', cidr: `${r.routerClientAddr}/24` }, { ns: r.clientNs, ifname: 'to-router', cidr: `${r.clientAddr}/24` });
      await ipIn(r.clientNs, 'route', 'add', 'default', 'via', r.routerClientAddr);
    }
    for (const n of topology.nodes) {
      await ipIn(n.ns, 'addr', 'add', `${ANYCAST_ADDRESS}/32`, 'dev', 'lo');
      await ipIn(n.ns, 'addr', 'add', `${n.adminAddr}/32`, 'dev', 'lo');
      for (const u of n.uplinks) {
        const r = topology.regions.find((x) => x.name === u.region)!;
        await addVethLink({ ns: r.routerNs, ifname: u.routerIf, cidr: `${u.routerAddr}/${u.len}` }, { ns: n.ns, ifname: u.edgeIf, cidr: `${u.edgeAddr}/${u.len}` });
        // Answers to a region's clients go back through that region's router.
        await ipIn(n.ns, 'route', 'add', r.clientSubnet, 'via', u.routerAddr);
      }
      const o = n.originLink;
      await addVethLink({ ns: n.ns, ifname: o.edgeIf, cidr: `${o.edgeAddr}/${o.len}` }, { ns: topology.originNs, ifname: o.originIf, cidr: `${o.originAddr}/${o.len}` });
      await ipIn(n.ns, 'route', 'add', `${ORIGIN_ADDRESS}/32`, 'via', o.originAddr);
    }
    done(step);

    step = 'origin';
    lab.startOrigin();
    done(step);

    step = 'routers';
    await Promise.all(topology.regions.map((r) => lab.startRouter(r)));
    done(step);

    step = 'edges';
    await Promise.all(topology.nodes.map(async (n) => {
      await lab.startNode(n);
      await lab.startSpeaker(n);
    }));
    done(step);

    step = 'converge';
    await waitConverged(lab, 30_000, abort.signal);
    for (const r of topology.regions) {
      const reached = await lab.reach(r.name);
      if (reached.node !== r.home) throw new Error(`a client in ${r.name} reached ${reached.node ?? reached.error}, expected ${r.home}`);
    }
    done(step);

    state.status = 'up';
    writeState(state);
    log(`lab "${opts.lab}" is up in ${Math.round(performance.now() - t0)} ms (${opts.nodes} nodes, speaker ${opts.speaker}${opts.bfd ? ', BFD' : ''}; state in ${dir})`);
    return state;
  } catch (err) {
    state.status = 'failed';
    writeState(state);
    log(`lab up failed at step "${step}": ${(err as Error).message}\nremoving everything it created …`);
    await labDown({ lab: opts.lab, stateRoot: opts.stateRoot, log });
    throw new Error(`lab up failed at step "${step}": ${(err as Error).message}`, { cause: err });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Every region router has a plain route from every node (path length = 1 + distance, no
 * prepends), no more-specific, and its kernel sends the anycast address to its home node.
 */
export async function waitConverged(lab: LabControl, timeout: number, signal?: AbortSignal): Promise<void> {
  const t = lab.topology;
  await waitUntil('every region router to have a plain route from every node', async () => {
    signal?.throwIfAborted();
    for (const r of t.regions) {
      const routes = await lab.routerRoutes(r.name);
      for (const n of t.nodes) {
        const want = [...Array.from({ length: r.distance[n.name] ?? 0 }, () => String(TRANSIT_AS)), String(EDGE_AS)].join(' ');
        const got = routes.find((x) => x.prefix === ANYCAST_PREFIX && x.from === n.name);
        if (got?.asPath !== want) return false;
      }
      if (routes.some((x) => x.prefix !== ANYCAST_PREFIX)) return false;
      if ((await lab.effectiveNode(r.name)) !== r.home) return false;
    }
    return true;
  }, { timeout, every: 100 });
}
