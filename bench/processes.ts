// Every process the harness starts goes through here: each gets its own process group
// (so nginx / cluster workers die with it), is optionally pinned with taskset, and is
// stopped by its pid — SIGTERM, then SIGKILL to its group after a grace period — on
// success, on error and on Ctrl-C. The pids seen (children included) are recorded so a
// test can check that nothing was left behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export class BenchError extends Error {
  /** The subject (or tool) at fault, named in the message too. */
  readonly subject: string;
  constructor(subject: string, message: string, options?: { cause?: unknown }) {
    super(`${subject}: ${message}`, options);
    this.name = 'BenchError';
    this.subject = subject;
  }
}

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitCode(): number | null | undefined;
  /** Last lines of stderr and stdout, for error messages. */
  tail(): string;
  /** All of stdout (the first 2000 lines) once the process closed it: tools' reports. */
  output(): Promise<string>;
  /** Resolves with the first stdout line (parsed JSON if possible) that matches. */
  waitForLine<T>(match: (line: string, json: unknown) => T | undefined, timeoutMs: number): Promise<T>;
}

export interface StartOptions {
  args?: string[];
  /** taskset -c LIST; ignored when taskset is absent. */
  cpus?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

let tasksetPresent: boolean | undefined;
export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
function taskset(): boolean {
  tasksetPresent ??= hasBinary('taskset');
  return tasksetPresent;
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Descendants of pid from /proc (Linux); empty elsewhere. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let text = '';
    try { text = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8'); } catch { return; }
    for (const c of text.trim().split(/\s+/).filter(Boolean).map(Number)) { out.push(c); walk(c); }
  };
  walk(pid);
  return out;
}

export function anyAlive(pids: Iterable<number>): number[] {
  return [...pids].filter(isAlive);
}

export class ProcessSet {
  readonly #live = new Set<Managed>();
  /** Every pid started or seen as a descendant, for the leak check. */
  readonly seenPids = new Set<number>();
  readonly #cleanups: Array<() => void> = [];
  #onSignal: ((sig: NodeJS.Signals) => void) | undefined;
  #onExit: (() => void) | undefined;

  constructor() {
    // Ctrl-C / SIGTERM / an uncaught crash: nothing of ours may outlive the harness.
    this.#onSignal = (sig) => {
      process.stderr.write(`\nbench: ${sig}: stopping ${this.#live.size} process(es)\n`);
      void this.stopAll().finally(() => {
        for (const c of this.#cleanups) { try { c(); } catch { /* best effort */ } }
        process.exit(130);
      });
    };
    this.#onExit = () => { for (const m of this.#live) this.#killGroup(m.pid, 'SIGKILL'); };
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
    process.on('exit', this.#onExit);
  }

  /** Also run on Ctrl-C / SIGTERM, after every process stopped (temp directories). */
  addCleanup(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  /** Removes the signal handlers (after stopAll). */
  dispose(): void {
    if (this.#onSignal) { process.off('SIGINT', this.#onSignal); process.off('SIGTERM', this.#onSignal); }
    if (this.#onExit) process.off('exit', this.#onExit);
    this.#onSignal = undefined;
    this.#onExit = undefined;
  }

  start(name: string, command: string, opts: StartOptions = {}): Managed {
    let cmd = command;
    let args = opts.args ?? [];
    if (opts.cpus !== undefined && taskset()) { args = ['-c', opts.cpus, cmd, ...args]; cmd = 'taskset'; }
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    if (child.pid === undefined) throw new BenchError(name, `could not start ${command}`);
    const pid = child.pid;
    const lines: string[] = [];
    const keep = (prefix: string) => (l: string) => { lines.push(prefix + l); if (lines.length > 40) lines.shift(); };
    const stdout = createInterface({ input: child.stdout! });
    createInterface({ input: child.stderr! }).on('line', keep('[stderr] '));
    const watchers = new Set<(line: string) => void>();
    const all: string[] = [];
    stdout.on('line', (l) => { keep('')(l); if (all.length < 2000) all.push(l); for (const w of watchers) w(l); });
    const stdoutClosed = new Promise<void>((r) => stdout.once('close', () => r()));
    let code: number | null | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (c, s) => { code = c; this.#live.delete(m); resolve({ code: c, signal: s }); });
      child.once('error', () => { code = -1; this.#live.delete(m); resolve({ code: -1, signal: null }); });
    });
    const m: Managed = {
      name, pid, child, exited,
      exitCode: () => code,
      tail: () => lines.join('\n'),
      output: () => stdoutClosed.then(() => all.join('\n')),
      waitForLine: <T>(match: (line: string, json: unknown) => T | undefined, timeoutMs: number) => new Promise<T>((resolve, reject) => {
        const done = (): void => { watchers.delete(w); clearTimeout(timer); };
        const w = (line: string): void => {
          let json: unknown;
          try { json = JSON.parse(line); } catch { json = undefined; }
          const r = match(line, json);
          if (r !== undefined) { done(); resolve(r); }
        };
        const timer = setTimeout(() => { done(); reject(new BenchError(name, `not ready after ${timeoutMs} ms\n${m.tail()}`)); }, timeoutMs);
        watchers.add(w);
        void exited.then((e) => { if (watchers.has(w)) { done(); reject(new BenchError(name, `exited (code ${e.code}, signal ${e.signal}) before it was ready\n${m.tail()}`)); } });
      }),
    };
    this.#live.add(m);
    this.seenPids.add(pid);
    return m;
  }

  /** Records the current descendants of every live process (cluster workers, nginx workers). */
  snapshot(): void {
    for (const m of this.#live) for (const p of descendants(m.pid)) this.seenPids.add(p);
  }

  #killGroup(pid: number, sig: NodeJS.Signals): void {
    try { process.kill(-pid, sig); } catch { /* already gone */ }
  }

  /** SIGTERM (or the given signal) to the pid; after graceMs SIGKILL to its whole group. */
  async stop(m: Managed, graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.snapshot();
    if (m.exitCode() === undefined) {
      try { process.kill(m.pid, signal); } catch { /* gone */ }
      const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([m.exited, t])) === 'timeout') {
        process.stderr.write(`bench: ${m.name} (pid ${m.pid}) ignored ${signal} for ${graceMs} ms; killing its group\n`);
        this.#killGroup(m.pid, 'SIGKILL');
        await m.exited;
      }
    }
    // Children that outlived their parent (a crashed master) are still in its group.
    this.#killGroup(m.pid, 'SIGKILL');
    this.#live.delete(m);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#live].map((m) => this.stop(m)));
  }
}
