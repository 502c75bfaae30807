// The lab's small anycast internet, as data: namespaces, links, addresses, AS numbers and
// the "distance" from each region to each edge node. Pure; lab-up.ts builds what this plans.
//
//   client-west 10.255.101.2                                 client-east 10.255.102.2
//        │                                                        │
//   router-west (BIRD, AS 65101)                     router-east (BIRD, AS 65102)
//        │ 10.255.1N.0/30 to every edge                           │ 10.255.2N.0/30
//        ├──── 0 hops ────── edge1 ────── 2 hops ─────────────────┤
//        ├──── 1 hop ─────── edge2 ────── 1 hop ──────────────────┤
//        └──── 2 hops ────── edge3 ────── 0 hops ─────────────────┘
//                              │   every edge: 192.0.2.1/32 and admin 10.255.240.N on lo;
//                              │   anyedge (1 worker), sidecar, BIRD or ExaBGP; AS 65001
//                  private links 10.255.20N.0/30
//                              │
//                     origin 10.255.250.1:8080
//
// Every region router peers with every edge. Distance (region → edge) is modelled as path
// length: the router's import filter prepends a transit AS once per hop, so west prefers
// edge1, then edge2, then edge3, and east the reverse. An overloaded edge prepends its own
// AS three times and so loses to the next-nearest edge; a withdrawn edge is simply absent.
// Path length, not local preference: local-pref is compared before the AS path, so with
// local-pref a prepended (overloaded) nearest edge would keep its region's traffic.
//
// Addresses (all inside the lab's namespaces): 10.255.<10·region + node>.0/30 router↔edge
// links (router .1, edge .2); 10.255.<100 + region>.0/24 router↔client (router .1, client .2);
// 10.255.<200 + node>.0/30 edge↔origin (edge .1, origin .2); 10.255.240.<node>/32 edge admin
// on lo; 10.255.250.1/32 origin on lo; 192.0.2.1/32 anycast on each edge's lo, announced as
// 192.0.2.0/24 (the internet filters /32s; a /24 also leaves room for a more-specific /25
// to steer traffic).

export const ANYCAST_ADDRESS = '192.0.2.1';
/** What every edge announces while healthy. */
export const ANYCAST_PREFIX = '192.0.2.0/24';
/** The more-specific the steer scenario announces from one edge. */
export const STEER_PREFIX = '192.0.2.0/25';
/** The name in the lab's TLS certificate and Host header. */
export const ANYCAST_NAME = 'anycast.lab';
/** The CDN's AS, shared by every edge (as a real anycast CDN does). */
export const EDGE_AS = 65001;
/** Prepended on import once per hop of distance. */
export const TRANSIT_AS = 64600;
/** AS-path prepends announced by an overloaded edge. */
export const OVERLOAD_PREPEND = 3;
export const ORIGIN_ADDRESS = '10.255.250.1';
export const ORIGIN_PORT = 8080;
export const ADMIN_PORT = 9901;
export const SIDECAR_METRICS_PORT = 9902;
export const ANYCAST_PORT = 443;

export const MIN_NODES = 2;
export const MAX_NODES = 6;
export const NAMESPACE_PREFIX = 'aelab-';

export type RegionName = 'west' | 'east';
export const REGIONS: readonly RegionName[] = ['west', 'east'];

export interface Uplink {
  region: RegionName;
  /** Interface and address on the edge side. */
  edgeIf: string;
  edgeAddr: string;
  /** Interface and address on the router side. */
  routerIf: string;
  routerAddr: string;
  /** Prefix length of the /30. */
  len: number;
}

export interface NodePlan {
  name: string;
  index: number;
  ns: string;
  adminAddr: string;
  /** Concurrent client connections at which the node reports itself overloaded. */
  capacity: number;
  uplinks: Uplink[];
  originLink: { edgeIf: string; edgeAddr: string; originIf: string; originAddr: string; len: number };
}

export interface RegionPlan {
  name: RegionName;
  index: number;
  routerNs: string;
  clientNs: string;
  routerAs: number;
  routerId: string;
  clientAddr: string;
  routerClientAddr: string;
  clientSubnet: string;
  /** The nearest node (distance 0). */
  home: string;
  /** Hops from this region to each node; the router prepends TRANSIT_AS this many times. */
  distance: Record<string, number>;
}

export interface Topology {
  lab: string;
  /** Every namespace name of this lab starts with this. */
  prefix: string;
  originNs: string;
  regions: RegionPlan[];
  nodes: NodePlan[];
}

/** Lab names end up in namespace names: keep them short and plain. */
export function validLabName(name: string): boolean {
  return /^[a-z0-9]{1,12}$/.test(name);
}

export function planTopology(lab: string, nodeCount: number): Topology {
  if (!validLabName(lab)) throw new Error(`lab name must be 1-12 lowercase letters or digits, got ${JSON.stringify(lab)}`);
  if (!Number.isInteger(nodeCount) || nodeCount < MIN_NODES || nodeCount > MAX_NODES) {
    throw new Error(`--nodes must be a whole number from ${MIN_NODES} to ${MAX_NODES}, got ${nodeCount}`);
  }
  const prefix = `${NAMESPACE_PREFIX}${lab}-`;
  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `edge${i + 1}`);
  const regions: RegionPlan[] = REGIONS.map((name, i) => {
    const index = i + 1;
    // west's nearest is edge1, east's the last edge; distance grows along the line.
    const homeIndex = name === 'west' ? 1 : nodeCount;
    const distance = Object.fromEntries(nodeNames.map((n, j) => [n, Math.abs(j + 1 - homeIndex)]));
    return {
      name,
      index,
      routerNs: `${prefix}router-${name}`,
      clientNs: `${prefix}client-${name}`,
      routerAs: 65100 + index,
      routerId: `10.255.${100 + index}.1`,
      clientAddr: `10.255.${100 + index}.2`,
      routerClientAddr: `10.255.${100 + index}.1`,
      clientSubnet: `10.255.${100 + index}.0/24`,
      home: nodeNames[homeIndex - 1]!,
      distance,
    };
  });
  const nodes: NodePlan[] = nodeNames.map((name, i) => {
    const index = i + 1;
    return {
      name,
      index,
      ns: `${prefix}${name}`,
      adminAddr: `10.255.240.${index}`,
      // edge1 is the small node: the overload scenario pushes it past its capacity with a
      // flood that the next-nearest node can take.
      capacity: index === 1 ? 60 : 120,
      uplinks: regions.map((r) => ({
        region: r.name,
        edgeIf: `to-${r.name}`,
        edgeAddr: `10.255.${10 * r.index + index}.2`,
        routerIf: `to-${name}`,
        routerAddr: `10.255.${10 * r.index + index}.1`,
        len: 30,
      })),
      originLink: { edgeIf: 'to-origin', edgeAddr: `10.255.${200 + index}.1`, originIf: `to-${name}`, originAddr: `10.255.${200 + index}.2`, len: 30 },
    };
  });
  return { lab, prefix, originNs: `${prefix}origin`, regions, nodes };
}

/** Every namespace of a topology, in creation order. */
export function namespacesOf(t: Topology): string[] {
  return [t.originNs, ...t.regions.flatMap((r) => [r.routerNs, r.clientNs]), ...t.nodes.map((n) => n.ns)];
}

export function nodeByName(t: Topology, name: string): NodePlan {
  const n = t.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in lab ${t.lab} (nodes: ${t.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

export function regionByName(t: Topology, name: RegionName): RegionPlan {
  return t.regions.find((r) => r.name === name)!;
}

/** The node whose link address (router side or edge side) this is. */
export function nodeByLinkAddress(t: Topology, addr: string): string | undefined {
  return t.nodes.find((n) => n.uplinks.some((u) => u.edgeAddr === addr))?.name;
}

/** The nodes a region prefers, nearest first (the order BGP picks them in when all are plain). */
export function preferenceOrder(r: RegionPlan): string[] {
  return Object.entries(r.distance).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([n]) => n);
}
