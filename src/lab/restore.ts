// Putting a lab back to its baseline before and after each scenario run.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tail, type LabControl } from './control.js';
import { waitConverged } from './lab-up.js';
import { isAlive, pidsInNamespace, waitUntil } from './netns.js';

/**
 * Puts the lab back to its baseline: thaw anything stopped, stop stray load runners and
 * monitors, start every process that is not running (a node waits for its drained
 * predecessor to exit first), withdraw steering, remove maintenance files; with `converge`,
 * wait until every region is back on its home node (dampening may hold a flapped node back
 * for up to its maxSuppress).
 */
export async function restore(lab: LabControl, opts: { converge: boolean }): Promise<void> {
  lab.thawAll();
  const t = lab.topology;
  for (const r of t.regions) {
    const bird = lab.process('router', r.name);
    for (const ns of [r.clientNs, r.routerNs]) {
      for (const pid of await pidsInNamespace(ns)) {
        if (bird && pid === bird.pid) continue;
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }
  if (!lab.alive('origin', 'origin')) lab.startOrigin();
  for (const r of t.regions) if (!lab.alive('router', r.name)) await lab.startRouter(r);
  await Promise.all(t.nodes.map(async (n) => {
    const p = lab.process('node', n.name);
    // A draining node exits on its own after grace + deadline; its successor needs the port.
    if (p && isAlive(p) && draining(lab, n.name)) await waitUntil(`${n.name} to finish draining`, () => !isAlive(p), { timeout: 12_000, every: 50 }).catch(() => {});
    if (!lab.alive('node', n.name)) await lab.startNode(n);
    const { speaker, bfd } = lab.state.options;
    if (speaker === 'bird') {
      if (!lab.alive('speaker', n.name)) await lab.startBird('speaker', n.name, n.ns, lab.nodeDir(n.name), 'bird.conf');
      if (!lab.alive('sidecar', n.name)) lab.startSidecar(n);
    } else {
      if (bfd && !lab.alive('bfd', n.name)) await lab.startBird('bfd', n.name, n.ns, lab.nodeDir(n.name), 'bfd.conf');
      if (!lab.alive('speaker', n.name)) lab.startExabgp(n);
    }
    rmSync(lab.maintenanceFile(n.name), { force: true });
    await lab.steer(n.name, false).catch(() => {});
  }));
  if (opts.converge) {
    await waitConverged(lab, 60_000).catch((err: unknown) => {
      throw new Error(`the lab did not return to its baseline: ${(err as Error).message}\n${lab.topology.nodes.map((n) => `${n.name} sidecar: ${tail(lab.sidecarLog(n.name), 3)}`).join('\n')}`);
    });
  }
}

/** True when the node's current run (since its last "anyedge ready") has started to drain. */
function draining(lab: LabControl, node: string): boolean {
  let text = '';
  try {
    text = readFileSync(join(lab.nodeDir(node), 'node.log'), 'utf8');
  } catch {
    return false;
  }
  return text.indexOf('"msg":"draining"', Math.max(0, text.lastIndexOf('"msg":"anyedge ready"'))) >= 0;
}
