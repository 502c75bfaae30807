// The cluster primary: forks and replaces workers, runs the admin plane, aggregates metrics,
// and sequences every stop. It serves no traffic itself, so a worker's stall never stalls it.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { readTicketKey } from '../config/load.js';
import { flushLogger, type Logger } from '../log.js';
import { supervisorMetrics } from '../metrics.js';
import { CertificateSet, randomTicketKeys } from '../server/tls.js';
import { startAdminServer, type AdminServer } from './admin.js';
import { ENV_CONFIG, ENV_TICKET_KEYS, ENV_WORKER_INDEX, isFromWorker, type FromWorker, type ListenerInfo, type ToWorker, type WorkerStatus } from './ipc.js';
import { NodeHealth } from './node-health.js';

export interface SupervisorOptions {
  log: Logger;
  /** Called once every worker listens: the URLs to print. */
  onReady?: (info: { listeners: ListenerInfo[]; admin: string }) => void;
  /** Called after the last worker exited, before process exit (demo origin, sidecar). */
  onStopped?: () => Promise<void> | void;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  status: WorkerStatus | undefined;
  /** When the last status report arrived (Date.now()). */
  statusAt: number;
  listening: boolean;
  /** Consecutive quick crashes, for back-off. */
  crashes: number;
  startedAt: number;
}

const BACKOFF_MIN = 100;
const BACKOFF_MAX = 10_000;
/** Workers report every 500 ms; silence this long means the worker's event loop is stuck. */
const STATUS_STALE_MS = 2000;
/** A worker that lived this long resets its back-off. */
const STABLE_MS = 30_000;

export class Supervisor {
  readonly config: Readonly<Config>;
  readonly #log: Logger;
  readonly #opts: SupervisorOptions;
  readonly #slots: Slot[] = [];
  readonly #ticketKeys: Buffer;
  readonly #metrics = supervisorMetrics();
  readonly health: NodeHealth;
  #admin: AdminServer | undefined;
  #stopping: Promise<void> | undefined;
  #listeners: ListenerInfo[] = [];
  #requestId = 0;
  readonly #pending = new Map<number, { need: number; results: Array<Extract<FromWorker, { id: number }>>; resolve: (r: Array<Extract<FromWorker, { id: number }>>) => void }>();

  constructor(config: Readonly<Config>, opts: SupervisorOptions) {
    this.config = config;
    this.#log = opts.log;
    this.#opts = opts;
    this.#ticketKeys = config.tls.ticketKeyFile ? readTicketKey(config.tls.ticketKeyFile)! : randomTicketKeys();
    this.health = new NodeHealth(config, {
      log: this.#log,
      metrics: this.#metrics.metrics,
      workers: () => this.#workerView(),
      onOriginChange: (c) => this.#tellWorkers({ type: 'origin-health', url: c.url, up: c.up }),
    });
  }

  #workerView(): { alive: number; expected: number; statuses: WorkerStatus[] } {
    // A worker whose event loop is stuck stops reporting: it is not serving, whatever its
    // process state says. Without this, a node with every worker blocked would look ready.
    const fresh = Date.now() - STATUS_STALE_MS;
    const alive = this.#slots.filter((s) => s.worker && s.listening && !s.worker.isDead() && s.statusAt >= fresh);
    return { alive: alive.length, expected: this.config.workers, statuses: alive.flatMap((s) => (s.status ? [s.status] : [])) };
  }

  async start(): Promise<void> {
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), silent: false });
    this.#admin = await startAdminServer(this.config, {
      log: this.#log,
      registry: this.#metrics.registry,
      health: this.health,
      drain: () => { void this.stop('admin /drain'); },
      purge: (kind, value, soft) => this.purge(kind, value, soft),
    });
    const ready = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.#slots.every((s) => s.listening)) resolve();
      };
      for (let i = 0; i < this.config.workers; i++) {
        const slot: Slot = { index: i + 1, worker: undefined, status: undefined, statusAt: 0, listening: false, crashes: 0, startedAt: 0 };
        this.#slots.push(slot);
        this.#fork(slot, check, reject);
      }
    });
    await ready;
    this.health.start();
    this.#metrics.metrics.workersAlive.set(this.config.workers);
    const adminUrl = `http://${fmtHost(this.#admin.address)}:${this.#admin.port}`;
    this.#log.info({ listeners: this.#listeners, admin: adminUrl, workers: this.config.workers }, 'anyedge ready');
    this.#opts.onReady?.({ listeners: this.#listeners, admin: adminUrl });
    process.on('SIGTERM', () => { void this.stop('SIGTERM'); });
    process.on('SIGINT', () => { void this.stop('SIGINT', 0); });
    process.on('SIGHUP', () => { void this.reloadCertificates(); });
  }

  #fork(slot: Slot, onListening?: () => void, onFail?: (e: Error) => void): void {
    const worker = cluster.fork({
      [ENV_CONFIG]: JSON.stringify(this.config),
      [ENV_TICKET_KEYS]: this.#ticketKeys.toString('hex'),
      [ENV_WORKER_INDEX]: String(slot.index),
    });
    slot.worker = worker;
    slot.listening = false;
    slot.startedAt = Date.now();
    worker.on('message', (m: unknown) => {
      if (!isFromWorker(m)) return;
      switch (m.type) {
        case 'listening':
          slot.listening = true;
          for (const o of this.health.origins()) worker.send({ type: 'origin-health', url: o.url, up: o.up } satisfies ToWorker);
          if (this.#listeners.length === 0) this.#listeners = m.listeners;
          onListening?.();
          break;
        case 'status':
          slot.status = m.status;
          slot.statusAt = Date.now();
          break;
        case 'reload-result':
        case 'purge-result': {
          const p = this.#pending.get(m.id);
          if (p) {
            p.results.push(m);
            if (p.results.length >= p.need) { this.#pending.delete(m.id); p.resolve(p.results); }
          }
          break;
        }
      }
    });
    worker.once('exit', (code, signal) => {
      slot.listening = false;
      slot.status = undefined;
      this.#metrics.metrics.workersAlive.set(this.#slots.filter((s) => s.listening).length);
      if (this.#stopping) return;
      if (onFail && !this.#listeners.length && code !== 0) {
        onFail(new Error(`worker ${slot.index} exited with code ${code} before listening (see its error above)`));
        return;
      }
      const lived = Date.now() - slot.startedAt;
      slot.crashes = lived > STABLE_MS ? 1 : slot.crashes + 1;
      const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (slot.crashes - 1));
      this.#metrics.metrics.workerRestarts.inc();
      this.#log.error({ worker: slot.index, code, signal, livedMs: lived, restartInMs: delay }, 'worker exited unexpectedly; replacing it');
      setTimeout(() => { if (!this.#stopping) this.#fork(slot); }, delay).unref();
    });
  }

  #tellWorkers(m: ToWorker): void {
    for (const s of this.#slots) if (s.worker?.isConnected()) s.worker.send(m);
  }

  /** Sends a request to every listening worker and waits for each answer (bounded). */
  #broadcast(make: (id: number) => ToWorker, timeoutMs = 5000): Promise<Array<Extract<FromWorker, { id: number }>>> {
    const id = ++this.#requestId;
    const targets = this.#slots.filter((s) => s.worker && s.listening && !s.worker.isDead());
    return new Promise((resolve) => {
      if (!targets.length) { resolve([]); return; }
      const timer = setTimeout(() => { const p = this.#pending.get(id); this.#pending.delete(id); resolve(p?.results ?? []); }, timeoutMs);
      this.#pending.set(id, { need: targets.length, results: [], resolve: (r) => { clearTimeout(timer); resolve(r); } });
      for (const t of targets) t.worker!.send(make(id));
    });
  }

  /** Every worker applies the purge before this resolves; the count is summed. */
  async purge(kind: 'url' | 'prefix' | 'tag' | 'all', value: string, soft: boolean): Promise<{ count: number; workers: number }> {
    const results = await this.#broadcast((id) => ({ type: 'purge', id, kind, value, soft }));
    this.#metrics.metrics.purges.inc({ kind: soft ? `${kind}-soft` : kind });
    let count = 0;
    for (const r of results) if (r.type === 'purge-result') count += r.count;
    return { count, workers: results.length };
  }

  /** SIGHUP: validate the new files here first, so a broken certificate never reaches a worker. */
  async reloadCertificates(): Promise<boolean> {
    try {
      new CertificateSet(this.config.certificates, { minVersion: this.config.tls.minVersion, ticketKeys: this.#ticketKeys, sessionTimeout: 300 });
    } catch (err) {
      this.#log.error({ err }, 'certificate reload refused: the new files do not load; keeping the current certificates');
      return false;
    }
    const results = await this.#broadcast((id) => ({ type: 'reload-certificates', id }));
    const failed = results.filter((r) => r.type === 'reload-result' && !r.ok);
    this.#log.info({ workers: results.length, failed: failed.length }, 'certificates reloaded');
    return failed.length === 0;
  }

  get admin(): AdminServer | undefined {
    return this.#admin;
  }

  /**
   * The planned stop: readiness "draining" (the sidecar withdraws the route) → keep serving
   * for shutdown.grace while routing converges → workers stop accepting and tell clients to
   * go → in-flight requests finish (shutdown.deadline) → exit 0.
   */
  stop(why: string, graceMs = this.config.shutdown.grace): Promise<void> {
    this.#stopping ??= (async () => {
      this.health.setDraining(true);
      this.#log.info({ why, graceMs, deadlineMs: this.config.shutdown.deadline }, 'draining');
      if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
      const alive = this.#slots.flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
      const exited = Promise.all(alive.map((w) => new Promise<void>((r) => { if (w.isDead()) r(); else w.once('exit', () => r()); })));
      for (const w of alive) if (w.isConnected()) w.send({ type: 'shutdown', deadlineMs: this.config.shutdown.deadline } satisfies ToWorker);
      const hard = setTimeout(() => { for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL'); }, this.config.shutdown.deadline + 2000);
      await exited;
      clearTimeout(hard);
      this.health.stop();
      await this.#admin?.close();
      await this.#opts.onStopped?.();
      this.#log.info({ why }, 'stopped');
      flushLogger(this.#log);
      setTimeout(() => process.exit(0), 50);
    })();
    return this.#stopping;
  }
}

function fmtHost(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}
