// Network-namespace primitives for the anycast lab (and, later, the tests' netns helpers):
// run a command, create and delete namespaces and veth links, start a process inside a
// namespace that outlives the command that started it, and identify a process by pid *and*
// start time so that a recorded pid reused by an unrelated process is never signalled.
//
// Safety: nothing here touches the host's own interfaces or routes. Links are veth pairs
// created directly inside namespaces; every address is given by the caller (the lab only
// uses 10.255.0.0/16 and 192.0.2.0/24).
import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Runs a command to completion (bounded); resolves stdout, rejects with its stdout and stderr in the message. */
export function run(cmd: string, args: readonly string[], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeout ?? 10_000, env: opts.env ?? process.env, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      // stdout too: some tools (birdc: "8001 Network not found") say why they failed there.
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message.trim()}${stdout ? `\n${stdout.trim()}` : ''}${stderr ? `\n${stderr.trim()}` : ''}`));
      else resolve(stdout);
    });
  });
}

/** True when `bin` is an executable on PATH (or in /usr/sbin, /sbin). */
export function onPath(bin: string): boolean {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => {
    if (!d) return false;
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why namespaces cannot be used here (not Linux, not root, a binary missing), or undefined. */
export function netnsUnavailable(binaries: readonly string[] = []): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const missing = ['ip', ...binaries].filter((b) => !onPath(b));
  if (missing.length) return `missing ${missing.join(', ')} (Debian: apt-get install -y iproute2 bird2 exabgp)`;
  return undefined;
}

// ---- waiting ---------------------------------------------------------------------------

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeout?: number;
  /** Pause between attempts (ms). */
  every?: number;
}

/** Thrown by a waitUntil check to stop waiting at once (what it waits on cannot happen). */
export class WaitAbort extends Error {
  override readonly name = 'WaitAbort';
}

/**
 * Polls `check` until it returns something other than undefined/false, for at most `timeout`
 * ms and a bounded number of attempts; throws naming `what` and the last value seen.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions = {}): Promise<Exclude<T, false | undefined>> {
  const timeout = opts.timeout ?? 10_000;
  const every = Math.max(1, opts.every ?? 20);
  const deadline = performance.now() + timeout;
  const maxAttempts = Math.ceil(timeout / every) + 1;
  let last: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as Exclude<T, false | undefined>;
      last = v;
    } catch (err) {
      if (err instanceof WaitAbort) throw new Error(`gave up waiting for ${what}: ${err.message}`);
      last = err;
    }
    if (performance.now() >= deadline) break;
    await sleep(every);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- namespaces and links --------------------------------------------------------------

/** Names of the network namespaces on this machine. */
export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

/** Creates a namespace with lo up. */
export async function addNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace (its veth ends go with it). Missing is not an error. */
export async function deleteNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'del', name]).catch((err: Error) => {
    if (!/No such file|Invalid netns name|Cannot remove/.test(err.message)) throw err;
  });
}

/** `ip -n <ns> …` */
export function ipIn(ns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', ns, ...args]);
}

/** Runs a command inside a namespace to completion. */
export function execIn(ns: string, cmd: string, args: readonly string[] = [], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export interface LinkEnd {
  ns: string;
  /** Interface name inside `ns` (at most 15 characters). */
  ifname: string;
  /** Address with prefix length, e.g. 10.255.11.1/30. */
  cidr: string;
}

/** A veth pair created directly inside two namespaces, addressed and up. */
export async function addVethLink(a: LinkEnd, b: LinkEnd): Promise<void> {
  await run('ip', ['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
  for (const end of [a, b]) {
    await ipIn(end.ns, 'addr', 'add', end.cidr, 'dev', end.ifname);
    await ipIn(end.ns, 'link', 'set', end.ifname, 'up');
  }
}

/** Sets a sysctl inside a namespace (`net.ipv4.ip_forward=1`). */
export async function sysctlIn(ns: string, setting: string): Promise<void> {
  await execIn(ns, 'sysctl', ['-q', '-w', setting]);
}

/** Pids of every process whose network namespace is `ns`. */
export async function pidsInNamespace(ns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', ns]).catch(() => '');
  return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

// ---- processes -------------------------------------------------------------------------

/** A process we started: pid plus its start time (clock ticks since boot), which a reused pid would not share. */
export interface ProcessId {
  pid: number;
  start: string;
}

/** Start time of a pid from /proc/<pid>/stat, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields follow the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** One-letter state (R, S, T for stopped, Z …) or undefined when the pid is gone. */
export function processState(pid: number): string | undefined {
  const stat = readProc(pid, 'stat');
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** True while the recorded process is alive (a zombie counts as gone). */
export function isAlive(p: ProcessId): boolean {
  return processStartTime(p.pid) === p.start && processState(p.pid) !== 'Z';
}

/** Every descendant of pid (children, grandchildren …), from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProc(Number(entry), 'stat');
    if (stat === undefined) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Signals a recorded process only if it is still that process. Returns whether it was sent. */
export function signalProcess(p: ProcessId, sig: NodeJS.Signals): boolean {
  if (processStartTime(p.pid) !== p.start) return false;
  try {
    process.kill(p.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The process and its descendants, identified now (before any of them is signalled). */
export function processTree(p: ProcessId): ProcessId[] {
  if (!isAlive(p)) return [];
  const tree: ProcessId[] = [p];
  for (const pid of descendants(p.pid)) {
    const start = processStartTime(pid);
    if (start !== undefined) tree.push({ pid, start });
  }
  return tree;
}

export interface DetachedOptions {
  /** stdout and stderr are appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Starts `cmd` inside `ns` in its own session, detached from us: it keeps running after the
 * command that started it exits. `ip netns exec` execs into `cmd`, so the pid is cmd's own.
 */
export function spawnDetachedIn(ns: string, cmd: string, args: readonly string[], opts: DetachedOptions): ProcessId {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${ns}`);
    const start = processStartTime(child.pid);
    if (start === undefined) throw new Error(`${cmd} in ${ns} exited at once; see ${opts.logFile}`);
    return { pid: child.pid, start };
  } finally {
    closeSync(fd);
  }
}
