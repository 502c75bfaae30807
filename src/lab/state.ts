// The lab's state file: every namespace and process it created, written as soon as each one
// exists, so that `lab down` can remove all of it after a failed `up` or a killed run. Lives
// in /run/anyedge-lab/<lab>/ by default: /run is a tmpfs, so it disappears on reboot exactly
// when the namespaces (also under /run/netns) do.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Speaker } from './configs.js';
import type { ProcessId } from './netns.js';
import type { Topology } from './topology.js';

export const DEFAULT_STATE_ROOT = '/run/anyedge-lab';

export type ProcessRole = 'origin' | 'router' | 'node' | 'sidecar' | 'speaker' | 'bfd';

export interface ProcessRecord extends ProcessId {
  role: ProcessRole;
  /** The node or region it belongs to. */
  owner: string;
  ns: string;
  log: string;
}

export interface LabOptions {
  nodes: number;
  speaker: Speaker;
  bfd: boolean;
}

export interface LabState {
  version: 1;
  lab: string;
  dir: string;
  status: 'building' | 'up' | 'failed';
  createdAt: string;
  options: LabOptions;
  topology: Topology;
  /** Bearer token of every node's admin plane. */
  token: string;
  /** Namespaces created so far, in creation order. */
  namespaces: string[];
  /** Processes started so far; a restarted node replaces its record. */
  processes: ProcessRecord[];
}

export function stateDir(root: string, lab: string): string {
  return join(root, lab);
}

export function stateFile(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(dir), 'utf8');
  } catch {
    return undefined;
  }
  const s = JSON.parse(text) as LabState;
  if (s.version !== 1) throw new Error(`${stateFile(dir)}: unknown state version ${String(s.version)}`);
  return s;
}

/** Written to a temporary file and renamed: a killed writer never leaves half a file. */
export function writeState(s: LabState): void {
  mkdirSync(s.dir, { recursive: true });
  const tmp = `${stateFile(s.dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, stateFile(s.dir));
}

export function recordNamespace(s: LabState, ns: string): void {
  if (!s.namespaces.includes(ns)) s.namespaces.push(ns);
  writeState(s);
}

/** Records a process, replacing an earlier one with the same role and owner. */
export function recordProcess(s: LabState, p: ProcessRecord): void {
  s.processes = s.processes.filter((x) => !(x.role === p.role && x.owner === p.owner));
  s.processes.push(p);
  writeState(s);
}

export function findProcess(s: LabState, role: ProcessRole, owner: string): ProcessRecord | undefined {
  return s.processes.find((p) => p.role === role && p.owner === owner);
}
