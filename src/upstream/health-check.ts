// Active origin health checks (`origin.healthCheck`), run once per node by the supervisor.
//
//   const checker = new OriginHealthChecker(origins, cfg.origin.healthCheck, { connect: connectOptions(cfg.origin), log, metrics });
//   checker.on('change', ({ url, up, reason }) => { /* tell workers (Origin.up), re-evaluate readiness */ });
//   checker.start();   // first round now, then every healthCheck.interval
//   computeReadiness({ ..., origins: checker.status() });
//
// Each probe is `GET <origin><path>` on a fresh connection (so connect and the TLS handshake,
// mTLS included, are checked every time, not just a kept-alive socket), bounded by
// healthCheck.timeout for headers and body. 2xx and 3xx are successes (redirects are not
// followed); anything else, a connection error or the timeout is a failure.
//
// Rise/fall: an origin starts DOWN (pending) and is UP after `rise` consecutive successes;
// an UP origin is DOWN after `fall` consecutive failures. Starting down means a node whose
// origin is dead never announces its route at startup; the first round runs at start() so
// a healthy node becomes ready after (rise - 1) intervals. 'change' is emitted only on a
// transition, with the reason; the transition is logged with the counts, the last error and
// the latency, and mirrored in anyedge_origin_up{origin}.
//
// healthCheck.path "" disables active checks: start() and tick() do nothing and status()
// is empty (readiness then does not judge origins; the pool treats them all as up).
import { EventEmitter } from 'node:events';
import { Agent, type Client, type Dispatcher } from 'undici';
import type { OriginLinkConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SupervisorMetrics } from '../metrics.js';

export type HealthCheckConfig = OriginLinkConfig['healthCheck'];

export interface OriginHealthChange {
  url: string;
  up: boolean;
  reason: string;
}

export interface OriginHealthStatus {
  url: string;
  up: boolean;
  /** Consecutive successes (while rising/up) or failures (while falling/down). */
  streak: number;
  /** Why the last probe failed; absent after a success. */
  lastError?: string;
  /** Milliseconds to response headers of the last probe that got an answer. */
  lastLatencyMs?: number;
}

export interface HealthCheckTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface OriginHealthCheckerOptions {
  /** undici connect options for https origins: ca, cert/key (mTLS), servername. */
  connect?: Client.Options['connect'] | undefined;
  /** Probe through this dispatcher instead of an Agent built from `connect` (not closed by stop()). */
  dispatcher?: Dispatcher;
  /** Default: global timers, the interval unref'd. Tests pass a manual set. */
  timers?: HealthCheckTimers;
  /** Monotonic milliseconds for latency. Default performance.now. */
  now?: () => number;
  log?: Logger;
  metrics?: SupervisorMetrics;
}

const defaultTimers: HealthCheckTimers = {
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval(h) { clearInterval(h as ReturnType<typeof setInterval>); },
  setTimeout(fn, ms) { return setTimeout(fn, ms); },
  clearTimeout(h) { clearTimeout(h as ReturnType<typeof setTimeout>); },
};

interface OriginState {
  url: string;
  origin: string;
  up: boolean;
  successes: number;
  failures: number;
  probes: number;
  lastError: string | undefined;
  lastLatencyMs: number | undefined;
  probing: AbortController | undefined;
}

export class OriginHealthChecker extends EventEmitter<{ change: [OriginHealthChange] }> {
  readonly cfg: HealthCheckConfig;
  readonly #origins: OriginState[];
  readonly #path: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: boolean;
  readonly #timers: HealthCheckTimers;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  readonly #metrics: SupervisorMetrics | undefined;
  #handle: unknown;
  #stopped = false;

  constructor(origins: readonly string[], cfg: HealthCheckConfig, opts: OriginHealthCheckerOptions = {}) {
    super();
    this.cfg = cfg;
    this.#path = cfg.path.startsWith('/') ? cfg.path : `/${cfg.path}`;
    this.#origins = [...new Set(origins)].map((url) => ({
      url,
      origin: new URL(url).origin,
      up: false,
      successes: 0,
      failures: 0,
      probes: 0,
      lastError: undefined,
      lastLatencyMs: undefined,
      probing: undefined,
    }));
    this.#ownDispatcher = opts.dispatcher === undefined;
    this.#dispatcher = opts.dispatcher ?? new Agent({
      connect: typeof opts.connect === 'function' ? opts.connect : { timeout: cfg.timeout, ...opts.connect },
      // One probe per connection (request `reset`); nothing to keep alive.
      pipelining: 0,
    });
    this.#timers = opts.timers ?? defaultTimers;
    this.#now = opts.now ?? (() => performance.now());
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    if (this.enabled) for (const o of this.#origins) this.#metrics?.originUp.set({ origin: o.url }, 0);
  }

  /** False when healthCheck.path is "" (active checks off). */
  get enabled(): boolean { return this.cfg.path !== ''; }

  /** Probes every origin now, then every healthCheck.interval. A stopped checker stays stopped. */
  start(): void {
    if (!this.enabled || this.#handle !== undefined || this.#stopped) return;
    void this.tick();
    this.#handle = this.#timers.setInterval(() => void this.tick(), this.cfg.interval);
  }

  /** Stops probing, aborts probes in flight (their result is dropped) and closes the probe connections. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#handle !== undefined) this.#timers.clearInterval(this.#handle);
    this.#handle = undefined;
    for (const o of this.#origins) o.probing?.abort();
    if (this.#ownDispatcher) await this.#dispatcher.close();
  }

  /**
   * One round: probes every origin that has no probe in flight (a probe slower than the
   * interval is not stacked); resolves when this round's probes have finished.
   */
  async tick(): Promise<void> {
    if (!this.enabled || this.#stopped) return;
    await Promise.all(this.#origins.filter((o) => o.probing === undefined).map((o) => this.#probe(o)));
  }

  /** The checker's view now, one entry per origin (empty when checks are off). */
  status(): OriginHealthStatus[] {
    if (!this.enabled) return [];
    return this.#origins.map((o) => ({
      url: o.url,
      up: o.up,
      streak: o.failures > 0 ? o.failures : o.successes,
      ...(o.lastError === undefined ? {} : { lastError: o.lastError }),
      ...(o.lastLatencyMs === undefined ? {} : { lastLatencyMs: o.lastLatencyMs }),
    }));
  }

  /** Whether the origin is up; true for an origin not checked here (checks off or unknown URL). */
  isUp(url: string): boolean {
    if (!this.enabled) return true;
    return this.#origins.find((o) => o.url === url)?.up ?? true;
  }

  async #probe(o: OriginState): Promise<void> {
    const ac = new AbortController();
    o.probing = ac;
    let timedOut = false;
    const timer = this.#timers.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.cfg.timeout);
    const started = this.#now();
    let error: string | undefined;
    let latency: number | undefined;
    try {
      const res = await this.#dispatcher.request({
        origin: o.origin,
        path: this.#path,
        method: 'GET',
        headers: { 'user-agent': 'anyedge-health-check' },
        signal: ac.signal,
        reset: true,
      });
      latency = this.#now() - started;
      // Read the (small) body so the origin finishes cleanly; the answer is the status.
      await res.body.dump({ limit: 64 * 1024, signal: ac.signal }).catch(() => undefined);
      if (res.statusCode < 200 || res.statusCode >= 400) error = `HTTP ${res.statusCode}`;
    } catch (err) {
      error = timedOut ? `timeout after ${this.cfg.timeout}ms` : describe(err);
    } finally {
      this.#timers.clearTimeout(timer);
      o.probing = undefined;
    }
    if (this.#stopped) return;
    this.#record(o, error, latency);
  }

  #record(o: OriginState, error: string | undefined, latency: number | undefined): void {
    o.probes++;
    o.lastError = error;
    if (latency !== undefined) o.lastLatencyMs = Math.round(latency * 10) / 10;
    const fields = { origin: o.url, error, latencyMs: o.lastLatencyMs };
    if (error === undefined) {
      o.failures = 0;
      o.successes++;
      if (!o.up && o.successes >= this.cfg.rise) this.#transition(o, true, `${o.successes} consecutive successful probes`, fields);
    } else {
      o.successes = 0;
      o.failures++;
      if (o.up && o.failures >= this.cfg.fall) this.#transition(o, false, `${o.failures} consecutive failed probes, last: ${error}`, fields);
      else if (!o.up && o.probes === 1) this.#log?.warn({ ...fields, path: this.#path }, 'origin health check: first probe failed; origin stays down');
      else this.#log?.debug({ ...fields, failures: o.failures }, 'origin health check: probe failed');
    }
  }

  #transition(o: OriginState, up: boolean, reason: string, fields: Record<string, unknown>): void {
    o.up = up;
    this.#metrics?.originUp.set({ origin: o.url }, up ? 1 : 0);
    const log = { ...fields, up, reason, rise: this.cfg.rise, fall: this.cfg.fall };
    if (up) this.#log?.info(log, `origin ${o.url} is up`);
    else this.#log?.warn(log, `origin ${o.url} is down`);
    this.emit('change', { url: o.url, up, reason });
  }
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  const msg = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = code !== undefined && !msg.includes(code) ? `${code}: ${msg}` : msg;
  // undici wraps some socket errors; the cause says what actually happened.
  const cause = e?.cause as { message?: unknown } | undefined;
  return typeof cause?.message === 'string' && !text.includes(cause.message) ? `${text} (${cause.message})` : text;
}
