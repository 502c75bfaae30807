// `anyedge lab status`: which node each region reaches, and each node's route state as the
// routers see it (`birdc show route`) next to the node's own /readyz and sidecar state.
import type { LabControl, NodeProbe, RouterRoute } from './control.js';
import { ANYCAST_PREFIX, EDGE_AS, OVERLOAD_PREPEND, STEER_PREFIX, type RegionName } from './topology.js';

export interface LabStatus {
  lab: string;
  status: string;
  options: { nodes: number; speaker: string; bfd: boolean };
  regions: Array<{ region: RegionName; home: string; kernelVia: string | undefined; reaches: string; routes: RouterRoute[]; sessions: Record<string, string> }>;
  nodes: Array<{ node: string; capacity: number; running: boolean; readyz: string; sidecar: string | undefined; suppressed: boolean; routes: Record<string, string> }>;
}

/** "plain", "prepended", "steer" or "absent" for one node's announcement at one router. */
export function routeKind(routes: readonly RouterRoute[], node: string): string {
  const mine = routes.filter((r) => r.from === node);
  if (!mine.length) return 'absent';
  return mine.map((r) => {
    const own = r.asPath.split(/\s+/).filter((a) => a === String(EDGE_AS)).length;
    const kind = r.prefix === STEER_PREFIX ? 'steer' : own > OVERLOAD_PREPEND ? 'prepended' : 'plain';
    return `${kind}${r.best ? '*' : ''}`;
  }).join('+');
}

export async function labStatus(lab: LabControl): Promise<LabStatus> {
  const t = lab.topology;
  const regions = await Promise.all(t.regions.map(async (r) => {
    const [routes, sessions, kernel, reached] = await Promise.all([
      lab.routerRoutes(r.name).catch(() => []),
      lab.sessions(r.name).catch(() => ({})),
      lab.effectiveNode(r.name).catch(() => undefined),
      lab.reach(r.name),
    ]);
    return { region: r.name, home: r.home, kernelVia: kernel, reaches: reached.node ?? `error: ${reached.error}`, routes, sessions };
  }));
  const probes: NodeProbe[] = await Promise.all(t.nodes.map((n) => lab.probeNode(n.name)));
  const nodes = t.nodes.map((n, i) => {
    const p = probes[i]!;
    return {
      node: n.name,
      capacity: n.capacity,
      running: lab.alive('node', n.name),
      readyz: p.readyz?.state ?? `error: ${p.readyzError ?? 'unknown'}`,
      sidecar: p.sidecarState,
      suppressed: p.suppressed ?? false,
      routes: Object.fromEntries(regions.map((r) => [r.region, routeKind(r.routes, n.name)])),
    };
  });
  return { lab: lab.state.lab, status: lab.state.status, options: lab.state.options, regions, nodes };
}

export function formatStatus(s: LabStatus): string {
  const lines = [
    `lab "${s.lab}" ${s.status}: ${s.options.nodes} nodes, speaker ${s.options.speaker}${s.options.bfd ? ', BFD' : ''}; anycast https://192.0.2.1/ (${ANYCAST_PREFIX})`,
    '',
    'region  home   kernel route → node   a client reaches   router sessions',
  ];
  for (const r of s.regions) {
    const sessions = Object.entries(r.sessions).map(([n, st]) => `${n}:${st}`).join(' ');
    lines.push(`${r.region.padEnd(7)} ${r.home.padEnd(6)} ${(r.kernelVia ?? '(none)').padEnd(21)} ${r.reaches.padEnd(18)} ${sessions}`);
  }
  lines.push('', `node    process  readyz       sidecar      capacity  ${s.regions.map((r) => `at ${r.region}`.padEnd(14)).join(' ')}`);
  for (const n of s.nodes) {
    lines.push(`${n.node.padEnd(7)} ${(n.running ? 'running' : 'down').padEnd(8)} ${n.readyz.padEnd(12)} ${`${n.sidecar ?? '?'}${n.suppressed ? ' (damp.)' : ''}`.padEnd(12)} ${`${n.capacity} conn`.padEnd(9)} ${s.regions.map((r) => (n.routes[r.region] ?? '').padEnd(14)).join(' ')}`);
  }
  lines.push('', 'routes: plain / prepended (overloaded) / steer (more-specific) / absent; * = the router\'s best path');
  for (const r of s.regions) {
    lines.push(`  router-${r.region}: ${r.routes.map((x) => `${x.prefix} from ${x.from}${x.best ? '*' : ''} [${x.asPath}]`).join('; ') || '(no route)'}`);
  }
  return lines.join('\n');
}
