// `anyedge lab down`: removes every process and namespace a lab created, from its state file
// and, for what a killed run never got to record, by sweeping the lab's namespace prefix:
// every process inside one of our namespaces is ours. Other namespaces are never touched.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { deleteNamespace, listNamespaces, pidsInNamespace, processTree, signalProcess, sleep, type ProcessId } from './netns.js';
import { readState, stateDir, stateFile } from './state.js';
import { NAMESPACE_PREFIX, validLabName } from './topology.js';

export interface DownOptions {
  lab: string;
  stateRoot: string;
  /** Every lab on this machine (every aelab-* namespace and state directory). */
  all?: boolean;
  log?: (msg: string) => void;
}

export interface DownResult {
  namespaces: string[];
  processes: number;
}

export async function labDown(opts: DownOptions): Promise<DownResult> {
  const log = opts.log ?? (() => {});
  const labs = opts.all ? labsOnDisk(opts.stateRoot) : [opts.lab];
  if (!opts.all && !validLabName(opts.lab)) throw new Error(`invalid lab name ${JSON.stringify(opts.lab)}`);
  let killed = 0;
  const recorded: string[] = [];

  // 1. Recorded processes, with their children, identified before any is signalled.
  for (const lab of labs) {
    const dir = stateDir(opts.stateRoot, lab);
    let state;
    try {
      state = readState(dir);
    } catch (err) {
      log(`ignoring an unreadable state file in ${dir}: ${(err as Error).message}`);
    }
    if (!state) continue;
    recorded.push(...state.namespaces);
    const tree: ProcessId[] = state.processes.flatMap((p) => processTree(p));
    for (const p of tree) if (signalProcess(p, 'SIGKILL')) killed++;
  }

  // 2. Namespaces: recorded ones and any left with our prefix (a run killed before it
  //    recorded them). Everything still running inside them is ours.
  const prefix = opts.all ? NAMESPACE_PREFIX : `${NAMESPACE_PREFIX}${opts.lab}-`;
  const present = await listNamespaces();
  const ours = [...new Set([...recorded.filter((n) => present.includes(n)), ...present.filter((n) => n.startsWith(prefix))])];
  for (const ns of ours) killed += await killInNamespace(ns);
  for (const ns of ours) await deleteNamespace(ns);

  const left = (await listNamespaces()).filter((n) => ours.includes(n) || n.startsWith(prefix));
  if (left.length) throw new Error(`could not remove namespace(s) ${left.join(', ')}`);

  // 3. State directories (configs, logs, sockets, certificates). Results live elsewhere.
  for (const lab of labs) {
    const dir = stateDir(opts.stateRoot, lab);
    if (existsSync(stateFile(dir)) || existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
  if (ours.length || killed) log(`removed ${ours.length} namespace(s) and ${killed} process(es)`);
  return { namespaces: ours, processes: killed };
}

async function killInNamespace(ns: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 20; round++) {
    const pids = await pidsInNamespace(ns);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch { /* gone */ }
    }
    await sleep(50);
  }
  return killed;
}

function labsOnDisk(root: string): string[] {
  try {
    return readdirSync(root).filter((d) => validLabName(d) && existsSync(join(root, d)));
  } catch {
    return [];
  }
}
