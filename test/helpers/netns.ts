// Network-namespace labs for tests that need real routers: namespaces, veth links, processes
// run inside them, BIRD routers, bounded waits. Everything a Lab creates it also removes,
// in reverse order, by name or by pid, also when a test fails (call lab.cleanup() in
// afterAll/afterEach). Names carry a per-run prefix (ae-<pid>-…) so runs never collide.
//
// Safety: traffic stays inside namespaces the lab created. Links are veth pairs between
// those namespaces (10.255.x.x); the host's own interfaces and routes are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The primitives are the lab's (src/lab/netns.ts): one implementation for tests and lab.
export { netnsUnavailable, onPath as hasBinary, run, WaitAbort, waitUntil, type WaitOptions } from '../../src/lab/netns.js';
import { run, WaitAbort, waitUntil, type WaitOptions } from '../../src/lab/netns.js';

/** A process started inside a namespace, with its output kept for assertions. */
export class LabProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** stdout and stderr, line by line, in arrival order. */
  readonly lines: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      let buf = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      child.once('error', () => resolve());
    });
  }

  get pid(): number | undefined { return this.child.pid; }
  get running(): boolean { return this.exitCode === null && this.exitSignal === null && this.child.pid !== undefined; }

  /** Lines parsed as JSON (pino logs); other lines skipped. */
  json(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.lines) {
      if (!l.startsWith('{')) continue;
      try { out.push(JSON.parse(l) as Record<string, unknown>); } catch { /* not JSON */ }
    }
    return out;
  }

  /** Waits for an output line matching `pred`, from line index `from` on. */
  waitForLine(what: string, pred: (line: string) => boolean, opts: WaitOptions & { from?: number } = {}): Promise<string> {
    return waitUntil(what, () => {
      const found = this.lines.slice(opts.from ?? 0).find(pred);
      if (found === undefined && !this.running) throw new WaitAbort(`${this.name} exited (${this.exitCode ?? this.exitSignal}); output:\n${this.tail()}`);
      return found;
    }, opts);
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Sends a signal to this process (by pid). */
  signal(sig: NodeJS.Signals): void {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, sig);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `grace` ms. */
  async stop(grace = 5000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), grace))]);
    if (!done) {
      this.signal('SIGKILL');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000))]);
    }
  }
}

export interface Netns {
  /** Full namespace name (ae-<pid>-<tag>). */
  name: string;
  tag: string;
}

export interface BirdRouter {
  ns: Netns;
  socket: string;
  process: LabProcess;
  /** `birdc -s <socket> <args…>` → its output. */
  birdc(...args: string[]): Promise<string>;
}

let labs = 0;

export class Lab {
  /** Per-run prefix for namespace names. */
  readonly prefix: string;
  /** Short prefix for interface names (IFNAMSIZ is 16). */
  readonly ifPrefix: string;
  /** Temporary directory for configs and control sockets; removed by cleanup(). */
  readonly dir: string;
  readonly #namespaces: Netns[] = [];
  readonly #processes: LabProcess[] = [];
  #links = 0;

  constructor(name = 'lab') {
    labs++;
    this.prefix = `ae-${process.pid}-${labs}`;
    this.ifPrefix = `ae${(process.pid % 100_000).toString(36)}${labs.toString(36)}`;
    this.dir = mkdtempSync(join(tmpdir(), `anyedge-${name}-`));
  }

  /** Creates a namespace with lo up. */
  async namespace(tag: string): Promise<Netns> {
    const ns = { name: `${this.prefix}-${tag}`, tag };
    await run('ip', ['netns', 'add', ns.name]);
    this.#namespaces.push(ns);
    await this.ip(ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip -n <ns> …` */
  ip(ns: Netns, ...args: string[]): Promise<string> {
    return run('ip', ['-n', ns.name, ...args]);
  }

  /** Runs a command inside a namespace to completion. */
  exec(ns: Netns, cmd: string, args: readonly string[] = [], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    return run('ip', ['netns', 'exec', ns.name, cmd, ...args], opts);
  }

  /** A veth pair between two namespaces, addressed and up. Returns the interface names. */
  async link(a: Netns, aAddr: string, b: Netns, bAddr: string): Promise<{ a: string; b: string }> {
    const n = this.#links++;
    const ifa = `${this.ifPrefix}l${n}a`;
    const ifb = `${this.ifPrefix}l${n}b`;
    await run('ip', ['link', 'add', ifa, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifb, 'netns', b.name]);
    await this.ip(a, 'addr', 'add', aAddr, 'dev', ifa);
    await this.ip(b, 'addr', 'add', bAddr, 'dev', ifb);
    await this.ip(a, 'link', 'set', ifa, 'up');
    await this.ip(b, 'link', 'set', ifb, 'up');
    return { a: ifa, b: ifb };
  }

  /** Adds an address to lo in the namespace (the anycast address of an edge). */
  async addLoopbackAddress(ns: Netns, cidr: string): Promise<void> {
    await this.ip(ns, 'addr', 'add', cidr, 'dev', 'lo');
  }

  async enableForwarding(ns: Netns): Promise<void> {
    await this.exec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** Starts a long-running process inside a namespace; stopped by cleanup() if still running. */
  spawn(ns: Netns, name: string, cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}): LabProcess {
    const child = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const p = new LabProcess(name, child);
    this.#processes.push(p);
    return p;
  }

  /** Writes a file in the lab directory; returns its path. */
  file(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  /** Starts BIRD 2 in a namespace with the given config and a private control socket. */
  async bird(ns: Netns, name: string, config: string): Promise<BirdRouter> {
    const conf = this.file(`${name}.conf`, config);
    const socket = join(this.dir, `${name}.ctl`);
    const proc = this.spawn(ns, `bird ${name}`, 'bird', ['-f', '-c', conf, '-s', socket, '-P', join(this.dir, `${name}.pid`)]);
    const birdc = (...args: string[]): Promise<string> => run('birdc', ['-s', socket, ...args], { timeout: 5000 });
    await waitUntil(`BIRD ${name} to answer on ${socket}`, async () => {
      if (!proc.running) throw new WaitAbort(`bird ${name} exited: ${proc.tail()}`);
      return (await birdc('show', 'status')).includes('Daemon is up and running');
    }, { timeout: 10_000, every: 20 });
    return { ns, socket, process: proc, birdc };
  }

  /** Processes still running in a namespace (started by our processes there). */
  async pidsIn(ns: Netns): Promise<number[]> {
    const out = await run('ip', ['netns', 'pids', ns.name]).catch(() => '');
    return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  }

  /** Stops every process (by pid), then deletes the namespaces and the directory. Never throws. */
  async cleanup(): Promise<void> {
    for (const p of this.#processes.splice(0).reverse()) await p.stop(3000).catch(() => {});
    for (const ns of this.#namespaces.splice(0).reverse()) {
      // Children of our processes (ExaBGP's API process) live only in our namespaces.
      for (let round = 0; round < 3; round++) {
        const pids = await this.pidsIn(ns);
        if (!pids.length) break;
        for (const pid of pids) { try { process.kill(pid, round === 0 ? 'SIGTERM' : 'SIGKILL'); } catch { /* gone */ } }
        await new Promise((r) => setTimeout(r, 200));
      }
      await run('ip', ['netns', 'del', ns.name]).catch(() => {});
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
