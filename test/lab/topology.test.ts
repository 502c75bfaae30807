// The lab's plan as data: names, addresses inside 10.255.0.0/16, distances that make each
// region prefer a different node, and configs generated from it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { edgeBfdOnlyConfig, edgeBirdConfig, exabgpConfig, nodeConfig, routerBirdConfig } from '../../src/lab/configs.js';
import { namespacesOf, planTopology, preferenceOrder, validLabName } from '../../src/lab/topology.js';
import { configSchema } from '../../src/config/schema.js';
import { onPath } from '../../src/lab/netns.js';

describe('planTopology', () => {
  const t = planTopology('main', 3);

  it('names every namespace with the lab prefix', () => {
    const names = namespacesOf(t);
    expect(names).toEqual([
      'aelab-main-origin', 'aelab-main-router-west', 'aelab-main-client-west', 'aelab-main-router-east', 'aelab-main-client-east',
      'aelab-main-edge1', 'aelab-main-edge2', 'aelab-main-edge3',
    ]);
    expect(names.every((n) => n.startsWith('aelab-main-'))).toBe(true);
  });

  it('uses only 10.255.0.0/16 for links, clients, admin and origin', () => {
    const addrs = [
      ...t.regions.flatMap((r) => [r.clientAddr, r.routerClientAddr, r.routerId]),
      ...t.nodes.flatMap((n) => [n.adminAddr, n.originLink.edgeAddr, n.originLink.originAddr, ...n.uplinks.flatMap((u) => [u.edgeAddr, u.routerAddr])]),
    ];
    for (const a of addrs) expect(a).toMatch(/^10\.255\.\d{1,3}\.\d{1,3}$/);
    // Link addresses are unique.
    const links = t.nodes.flatMap((n) => n.uplinks.flatMap((u) => [u.edgeAddr, u.routerAddr]));
    expect(new Set(links).size).toBe(links.length);
  });

  it('gives each region a different nearest node and a strict order', () => {
    const [west, east] = t.regions;
    expect(west!.home).toBe('edge1');
    expect(east!.home).toBe('edge3');
    expect(preferenceOrder(west!)).toEqual(['edge1', 'edge2', 'edge3']);
    expect(preferenceOrder(east!)).toEqual(['edge3', 'edge2', 'edge1']);
    for (const r of t.regions) expect(new Set(Object.values(r.distance)).size).toBe(t.nodes.length);
  });

  it('works for two nodes and refuses bad sizes and names', () => {
    const two = planTopology('x', 2);
    expect(two.regions.map((r) => r.home)).toEqual(['edge1', 'edge2']);
    expect(() => planTopology('main', 1)).toThrow(/--nodes/);
    expect(() => planTopology('main', 7)).toThrow(/--nodes/);
    expect(() => planTopology('Bad-Name', 3)).toThrow(/lab name/);
    expect(validLabName('t1a2b')).toBe(true);
    expect(validLabName('a'.repeat(13))).toBe(false);
  });
});

describe('lab configs', () => {
  const t = planTopology('main', 3);
  const west = t.regions[0]!;
  const edge1 = t.nodes[0]!;

  it('router: prepends the transit AS once per hop on import, accepts only the anycast range', () => {
    const conf = routerBirdConfig(t, west, { speaker: 'bird', bfd: false, logFile: '/tmp/x.log' });
    expect(conf).toMatch(/filter from_edge1 \{\n\s+if ! \(net ~ \[ 192\.0\.2\.0\/24\{24,32\} \]\) then reject;\n\s+accept;/);
    expect(conf.match(/bgp_path\.prepend\(64600\)/g)).toHaveLength(0 + 1 + 2);
    expect(conf).toMatch(/protocol bgp edge3 from edge \{ neighbor 10\.255\.13\.2 as 65001; source address 10\.255\.13\.1; ipv4/);
    expect(conf).not.toMatch(/passive on|bfd/);
    const exa = routerBirdConfig(t, west, { speaker: 'exabgp', bfd: true, logFile: '/tmp/x.log' });
    expect(exa).toMatch(/passive on;/);
    expect(exa).toMatch(/protocol bfd \{ interface "to-\*"/);
    expect(exa).toMatch(/bfd on;/);
  });

  it('edge BIRD: the sidecar\'s two protocols and the steer one, all disabled at start', () => {
    const conf = edgeBirdConfig(t, edge1, { bfd: false, logFile: '/tmp/x.log' });
    for (const p of ['anycast', 'anycast_prepend', 'steer']) expect(conf).toMatch(new RegExp(`protocol static ${p} \\{ disabled;`));
    expect(conf).toMatch(/route 192\.0\.2\.0\/25 blackhole/);
    expect(conf).toMatch(/protocol bgp east from region \{ neighbor 10\.255\.21\.1 as 65102;/);
    expect(edgeBfdOnlyConfig(edge1, '/tmp/x.log')).toMatch(/neighbor 10\.255\.11\.1 local 10\.255\.11\.2;/);
  });

  it('ExaBGP: the sidecar and the steer process, one neighbour per region', () => {
    const conf = exabgpConfig(t, edge1, { node: '/usr/bin/node', cli: '/x/cli.js', config: '/x/anyedge.yaml', steerScript: '/x/steer.js', steerControl: '/x/steer' });
    expect(conf).toMatch(/run \/usr\/bin\/node \/x\/cli\.js sidecar --config \/x\/anyedge\.yaml --speaker exabgp --local-as 65001/);
    expect(conf.match(/^neighbor /gm)).toHaveLength(2);
    expect(conf).toMatch(/hold-time 3;/);
  });

  it('node config is valid for the real schema: one worker, the anycast listener, the lab timings', () => {
    const raw = nodeConfig(edge1, 'bird', { cert: '/x/c.pem', key: '/x/k.pem', maintenanceFile: '/x/m', birdSocket: '/x/b.ctl', token: 'a'.repeat(48) });
    const cfg = configSchema.parse(raw);
    expect(cfg.workers).toBe(1);
    expect(cfg.name).toBe('edge1');
    expect(cfg.listeners).toEqual([{ address: '192.0.2.1', port: 443, tls: true }]);
    expect(cfg.admin.address).toBe('10.255.240.1');
    expect(cfg.sidecar.prefixes).toEqual(['192.0.2.0/24']);
    expect(cfg.shutdown.grace).toBe(2000);
    expect(cfg.overload.openConnections.high).toBe(edge1.capacity * 10);
  });
});

const birdMissing = !onPath('bird');
if (birdMissing) console.log('[test/lab/topology.test.ts] BIRD parse checks skipped: bird not installed (apt-get install -y bird2)');
describe.skipIf(birdMissing)('the lab\'s BIRD configs parse with BIRD 2', () => {
  const t = planTopology('main', 3);
  const dir = mkdtempSync(join(tmpdir(), 'anyedge-lab-conf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const parse = (name: string, text: string) => new Promise<string>((resolve) => {
    const file = join(dir, name);
    writeFileSync(file, text.replace(/log "[^"]+"/, `log "${join(dir, 'bird.log')}"`));
    execFile('bird', ['-p', '-c', file], { timeout: 10_000 }, (err, stdout, stderr) => resolve(`${err ? `exit ${String(err.code)} ` : ''}${stdout}${stderr}`));
  });
  it.each([
    ['router, bird speaker', () => routerBirdConfig(t, t.regions[0]!, { speaker: 'bird', bfd: false, logFile: 'x' })],
    ['router, exabgp speaker + BFD', () => routerBirdConfig(t, t.regions[1]!, { speaker: 'exabgp', bfd: true, logFile: 'x' })],
    ['edge', () => edgeBirdConfig(t, t.nodes[1]!, { bfd: false, logFile: 'x' })],
    ['edge + BFD', () => edgeBirdConfig(t, t.nodes[2]!, { bfd: true, logFile: 'x' })],
    ['BFD responder', () => edgeBfdOnlyConfig(t.nodes[0]!, 'x')],
  ])('%s', async (name, make) => {
    expect(await parse(`${name.replace(/\W+/g, '-')}.conf`, make())).toBe('');
  });
});
