// What a scenario reports: per-second rows per node, the first move after a fault, shares,
// the parsers for BIRD and kernel routes, and a chart that is well-formed SVG.
import { describe, expect, it } from 'vitest';
import { effectiveNodeOf, parseBirdRoutes, parseKernelRoutes } from '../../src/lab/control.js';
import { failuresBetween, firstMoveAfter, perSecond, shareOf, svgChart, totalsByNode, type StreamData } from '../../src/lab/report.js';
import { viaNode } from '../../src/lab/samples.js';
import { routeKind } from '../../src/lab/status.js';

const T0 = 1_000_000;
const slice = (ms: number, ok: Record<string, number>, failed = 0) => ({ type: 'slice' as const, ts: T0 + ms, ok, failed, retried: 0, errors: failed ? { ECONNREFUSED: failed } : {} });

function stream(): StreamData {
  return {
    name: 'west-clients', region: 'west', engine: 'probe',
    slices: [slice(0, { edge1: 10 }), slice(500, { edge1: 10 }), slice(1000, { edge1: 5 }, 3), slice(1100, { edge2: 4 }), slice(2300, { edge2: 10 })],
    changes: [{ type: 'change', ts: T0 + 5, from: null, to: 'edge1' }, { type: 'change', ts: T0 + 1150, from: 'edge1', to: 'edge2' }],
    fails: [{ type: 'fail', ts: T0 + 1010, code: 'ECONNREFUSED' }, { type: 'fail', ts: T0 + 1090, code: 'ECONNREFUSED' }],
    total: 47, failed: 3, retried: 0,
  };
}

describe('scenario numbers', () => {
  it('folds slices into per-second rows per node', () => {
    const rows = perSecond([stream()], T0, 3000);
    expect(rows).toEqual([
      { t: 0, nodes: { edge1: 20 }, failed: 0, retried: 0 },
      { t: 1, nodes: { edge1: 5, edge2: 4 }, failed: 3, retried: 0 },
      { t: 2, nodes: { edge2: 10 }, failed: 0, retried: 0 },
    ]);
    expect(totalsByNode([stream()])).toEqual({ edge1: 25, edge2: 14 });
  });

  it('times the first answer from another node after the fault', () => {
    expect(firstMoveAfter([stream()], T0 + 1000, 'edge1')).toEqual({ atMs: 150, to: 'edge2' });
    expect(firstMoveAfter([stream()], T0 + 2000, 'edge1')).toBeUndefined();
    expect(failuresBetween([stream()], T0 + 1000, T0 + 5000)).toEqual({ count: 2, firstMs: 10, lastMs: 90 });
    expect(shareOf([stream()], 'edge1', T0, T0 + 1000)).toBe(1);
  });

  it('draws an SVG with one line per node, the failures, and numbered markers', () => {
    const svg = svgChart({
      title: 'anyedge lab: crash', subtitle: ['a <test>'], rows: perSecond([stream()], T0, 3000), nodes: ['edge1', 'edge2', 'edge3'],
      markers: [{ atMs: 1000, label: 'SIGKILL edge1', kind: 'fault' }, { atMs: 1120, label: 'west → edge2', kind: 'route' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('a &lt;test&gt;');
    expect(svg).toContain('+1.00 s  SIGKILL edge1');
    expect(svg).toContain('+1.12 s  west → edge2');
    // Balanced tags (a cheap well-formedness check).
    const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).length;
    const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length;
    expect(opened).toBe(closed);
  });
});

describe('parsers', () => {
  it('reads the answering node from Via', () => {
    expect(viaNode('1.1 edge2')).toBe('edge2');
    expect(viaNode('1.1 origin-proxy, 1.1 edge3')).toBe('edge3');
    expect(viaNode(undefined)).toBe('unknown');
  });

  it('reads `birdc show route … all`', () => {
    const out = `BIRD 2.0.12 ready.
Table master4:
192.0.2.0/24         unicast [edge1 02:30:38.883] * (100) [AS65001i]
\tvia 10.255.11.2 on to-edge1
\tType: BGP univ
\tBGP.as_path: 65001 65001 65001 65001
                     unicast [edge2 02:30:02.994] (100) [AS65001i]
\tvia 10.255.12.2 on to-edge2
\tBGP.as_path: 64600 65001
192.0.2.0/25         unicast [edge1 02:31:00.000] * (100) [AS65001i]
\tvia 10.255.11.2 on to-edge1
\tBGP.as_path: 64600 64600 65001
`;
    const routes = parseBirdRoutes(out);
    expect(routes).toEqual([
      { prefix: '192.0.2.0/24', from: 'edge1', best: true, asPath: '65001 65001 65001 65001' },
      { prefix: '192.0.2.0/24', from: 'edge2', best: false, asPath: '64600 65001' },
      { prefix: '192.0.2.0/25', from: 'edge1', best: true, asPath: '64600 64600 65001' },
    ]);
    expect(routeKind(routes, 'edge1')).toBe('prepended*+steer*');
    expect(routeKind(routes, 'edge2')).toBe('plain');
    expect(routeKind(routes, 'edge3')).toBe('absent');
  });

  it('reads kernel routes and applies longest-prefix match', () => {
    const nodeOf = (a: string) => ({ '10.255.11.2': 'edge1', '10.255.13.2': 'edge3' } as Record<string, string>)[a];
    const routes = parseKernelRoutes('10.255.101.0/24 dev to-client proto kernel scope link src 10.255.101.1\n192.0.2.0/24 via 10.255.13.2 dev to-edge3 proto bird metric 32\n192.0.2.0/25 via 10.255.11.2 dev to-edge1 proto bird metric 32\n', nodeOf);
    expect(routes).toEqual([
      { prefix: '192.0.2.0/24', via: '10.255.13.2', node: 'edge3' },
      { prefix: '192.0.2.0/25', via: '10.255.11.2', node: 'edge1' },
    ]);
    expect(effectiveNodeOf(routes)).toBe('edge1');
    expect(effectiveNodeOf(routes.slice(0, 1))).toBe('edge3');
    expect(effectiveNodeOf([])).toBeUndefined();
  });
});
