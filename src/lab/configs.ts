// Configuration files the lab writes: BIRD 2 for the region routers and BIRD edges (or a
// BFD-only BIRD beside ExaBGP), ExaBGP, and each node's anyedge YAML. Pure functions of the
// topology; the deploy/ examples explain the same settings for a real network.
import { stringify } from 'yaml';
import {
  ADMIN_PORT, ANYCAST_ADDRESS, ANYCAST_NAME, ANYCAST_PORT, ANYCAST_PREFIX, EDGE_AS, ORIGIN_ADDRESS, ORIGIN_PORT,
  OVERLOAD_PREPEND, STEER_PREFIX, TRANSIT_AS, type NodePlan, type RegionPlan, type Topology,
} from './topology.js';

export type Speaker = 'bird' | 'exabgp';

/**
 * BGP timers for the lab. BIRD's defaults are made for the internet ("error wait time 60,
 * 300" keeps a restarted peer out for a minute, the first connect waits 5 s); a lab wants
 * seconds. hold 3 / keepalive 1 is the smallest hold time BGP allows: a frozen edge is
 * dropped after 3 s without BFD.
 */
export const LAB_BGP_TIMERS = 'hold time 3; keepalive time 1; connect retry time 2; error wait time 1, 5; connect delay time 1; graceful restart off;';
export const LAB_HOLD_TIME_S = 3;
/** BFD: 3 × 100 ms. */
export const LAB_BFD = 'min rx interval 100 ms; min tx interval 100 ms; multiplier 3;';
export const LAB_BFD_DETECT_MS = 300;

/** Only the anycast range, /24 to /32, is accepted from edges and installed in the kernel. */
const ANYCAST_SET = `[ ${ANYCAST_PREFIX}{24,32} ]`;

function routerAs(t: Topology, region: string): number {
  return t.regions.find((r) => r.name === region)!.routerAs;
}

/** A region router: peers with every edge, prepends TRANSIT_AS once per hop of distance. */
export function routerBirdConfig(t: Topology, r: RegionPlan, opts: { speaker: Speaker; bfd: boolean; logFile: string }): string {
  const filters = t.nodes.map((n) => {
    const hops = r.distance[n.name] ?? 0;
    const prepends = Array.from({ length: hops }, () => `  bgp_path.prepend(${TRANSIT_AS});`).join('\n');
    return `# ${n.name} is ${hops} hop(s) away from ${r.name}.
filter from_${n.name} {
  if ! (net ~ ${ANYCAST_SET}) then reject;
${prepends ? `${prepends}\n` : ''}  accept;
}`;
  }).join('\n\n');
  const sessions = t.nodes.map((n) => {
    const u = n.uplinks.find((x) => x.region === r.name)!;
    // ExaBGP never listens: the router must accept its connection.
    const passive = opts.speaker === 'exabgp' ? ' passive on;' : '';
    return `protocol bgp ${n.name} from edge { neighbor ${u.edgeAddr} as ${EDGE_AS}; source address ${u.routerAddr};${passive} ipv4 { import filter from_${n.name}; export none; }; }`;
  }).join('\n');
  return `# anyedge lab: the ${r.name} region's router (AS ${r.routerAs}). Written by \`anyedge lab up\`.
router id ${r.routerId};
log "${opts.logFile}" { info, remote, warning, error, auth, fatal, bug };
protocol device { }

# The best path to the anycast range goes into this namespace's kernel table: the region's
# clients follow it.
protocol kernel {
  ipv4 { import none; export filter { if net ~ ${ANYCAST_SET} then accept; reject; }; };
}
${opts.bfd ? `\nprotocol bfd { interface "to-*" { ${LAB_BFD} }; }\n` : ''}
${filters}

template bgp edge {
  local as ${r.routerAs};
  ${LAB_BGP_TIMERS}${opts.bfd ? '\n  bfd on;' : ''}
}

${sessions}
`;
}

/** An edge's own BIRD when it is the speaker: static protocols the sidecar enables and disables. */
export function edgeBirdConfig(t: Topology, n: NodePlan, opts: { bfd: boolean; logFile: string }): string {
  const prepends = Array.from({ length: OVERLOAD_PREPEND }, () => `bgp_path.prepend(${EDGE_AS});`).join(' ');
  const sessions = n.uplinks.map((u) => `protocol bgp ${u.region} from region { neighbor ${u.routerAddr} as ${routerAs(t, u.region)}; source address ${u.edgeAddr}; }`).join('\n');
  return `# anyedge lab: ${n.name}'s BIRD (AS ${EDGE_AS}), driven by \`anyedge sidecar --speaker bird\`.
router id ${n.adminAddr};
log "${opts.logFile}" { info, remote, warning, error, auth, fatal, bug };
protocol device { }

# All start disabled: nothing is announced until the sidecar has seen the node healthy.
protocol static anycast { disabled; ipv4; route ${ANYCAST_PREFIX} blackhole; }
protocol static anycast_prepend { disabled; ipv4; route ${ANYCAST_PREFIX} blackhole; }
# The steer scenario enables this one: a more-specific that wins wherever it is heard.
protocol static steer { disabled; ipv4; route ${STEER_PREFIX} blackhole; }

filter export_anycast {
  if proto = "anycast_prepend" then { ${prepends} }
  if proto = "anycast" || proto = "anycast_prepend" || proto = "steer" then accept;
  reject;
}
${opts.bfd ? `\nprotocol bfd { interface "to-*" { ${LAB_BFD} }; }\n` : ''}
template bgp region {
  local as ${EDGE_AS};
  ipv4 { import none; export filter export_anycast; };
  ${LAB_BGP_TIMERS}${opts.bfd ? '\n  bfd on;' : ''}
}

${sessions}
`;
}

/** Beside ExaBGP (which has no BFD): a BIRD that only answers the routers' BFD sessions. */
export function edgeBfdOnlyConfig(n: NodePlan, logFile: string): string {
  const neighbors = n.uplinks.map((u) => `  neighbor ${u.routerAddr} local ${u.edgeAddr};`).join('\n');
  return `# anyedge lab: ${n.name}'s BFD responder (ExaBGP speaks BGP; BIRD only answers BFD).
router id ${n.adminAddr};
log "${logFile}" { info, remote, warning, error, auth, fatal, bug };
protocol device { }
protocol bfd {
  interface "to-*" { ${LAB_BFD} };
${neighbors}
}
`;
}

export interface ExabgpPaths {
  node: string;
  cli: string;
  config: string;
  steerScript: string;
  steerControl: string;
}

/** ExaBGP on an edge: the sidecar as its API process, plus the lab's steer process. */
export function exabgpConfig(t: Topology, n: NodePlan, p: ExabgpPaths): string {
  const neighbors = n.uplinks.map((u) => `neighbor ${u.routerAddr} {
    router-id ${n.adminAddr};
    local-address ${u.edgeAddr};
    local-as ${EDGE_AS};
    peer-as ${routerAs(t, u.region)};
    hold-time ${LAB_HOLD_TIME_S};
    api {
        processes [ anyedge-sidecar, lab-steer ];
        neighbor-changes;
    }
}`).join('\n\n');
  return `# anyedge lab: ${n.name}'s ExaBGP (AS ${EDGE_AS}). Written by \`anyedge lab up\`.
process anyedge-sidecar {
    run ${p.node} ${p.cli} sidecar --config ${p.config} --speaker exabgp --local-as ${EDGE_AS} --metrics ${n.adminAddr}:9902;
    encoder json;
}

# The steer scenario writes "announce" or "withdraw" to ${p.steerControl}.
process lab-steer {
    run ${p.node} ${p.steerScript} --control ${p.steerControl} --prefix ${STEER_PREFIX};
    encoder text;
}

${neighbors}
`;
}

/** ExaBGP's environment for running an API process as root in the foreground. */
export const EXABGP_ENV: Readonly<Record<string, string>> = {
  'exabgp.daemon.user': 'root',
  'exabgp.daemon.daemonize': 'false',
  'exabgp.daemon.drop': 'false',
  'exabgp.api.ack': 'true',
  'exabgp.api.respawn': 'true',
  'exabgp.api.cli': 'false',
  'exabgp.log.destination': 'stdout',
};

export interface NodeFiles {
  cert: string;
  key: string;
  maintenanceFile: string;
  birdSocket: string;
  token: string;
}

/** A node's anyedge configuration: one worker, the anycast listener, the lab's timings. */
export function nodeConfig(n: NodePlan, speaker: Speaker, f: NodeFiles): Record<string, unknown> {
  return {
    name: n.name,
    workers: 1,
    listeners: [{ address: ANYCAST_ADDRESS, port: ANYCAST_PORT, tls: true }],
    certificates: [{ names: [ANYCAST_NAME, ANYCAST_ADDRESS], cert: f.cert, key: f.key }],
    hosts: [{ names: [ANYCAST_NAME, ANYCAST_ADDRESS], origins: [`http://${ORIGIN_ADDRESS}:${ORIGIN_PORT}`] }],
    admin: { address: n.adminAddr, port: ADMIN_PORT, token: f.token },
    log: { level: 'info', access: false, pretty: false },
    // Long enough for the withdrawal to reach the routers (a probe interval plus BGP).
    shutdown: { grace: '2s', deadline: '5s' },
    origin: { healthCheck: { path: '/healthz', interval: '1s', timeout: '500ms' } },
    health: { maintenanceFile: f.maintenanceFile },
    // The node's capacity, declared as concurrent client connections: on a 2-core box every
    // node shares the CPU, so the lab's overload is a threshold, not a melted machine.
    // Event-loop signals are parked out of reach (utilisation never exceeds 1) so that CPU
    // contention between the lab's processes does not read as one node's overload.
    overload: {
      interval: '250ms',
      eventLoopDelayMs: { low: 1000, high: 5000 },
      eventLoopUtilization: { low: 2, high: 3 },
      openConnections: { low: 0, high: n.capacity * 10 },
      actions: { disableKeepAlive: 1, shedOriginRequests: 1, reportOverloaded: 0.1, reportFailing: 1 },
      hysteresis: 0.05,
    },
    sidecar: {
      speaker,
      prefixes: [ANYCAST_PREFIX],
      readyz: `http://${n.adminAddr}:${ADMIN_PORT}/readyz`,
      interval: '250ms',
      fastInterval: '50ms',
      rise: 2,
      fall: 2,
      timeout: '300ms',
      refresh: '5s',
      prepend: OVERLOAD_PREPEND,
      localAs: EDGE_AS,
      birdSocket: f.birdSocket,
      birdProtocol: 'anycast',
      // Scaled to a lab's minutes: three flaps in a few seconds suppress, ~10 s of calm releases.
      dampening: { enabled: true, penalty: 1000, suppress: 2000, reuse: 750, halfLife: '5s', maxSuppress: '30s' },
    },
  };
}

export function nodeConfigYaml(n: NodePlan, speaker: Speaker, f: NodeFiles): string {
  return `# anyedge lab: ${n.name}. Written by \`anyedge lab up\`.\n${stringify(nodeConfig(n, speaker, f))}`;
}
