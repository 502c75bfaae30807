// The overload manager of one worker (Envoy's shape): resource monitors → pressure per
// monitor → overall pressure (the max) → named actions with hysteresis → shed points that
// the server and the pipeline read.
//
//   const overload = new OverloadManager(cfg.overload, { sources: { inflight, connections }, log, metrics: workerMetrics() });
//   overload.start();                       // samples every cfg.interval (unref'd timer)
//   overload.on('change', (s) => process.send?.({ type: 'overload', level: s.level }));
//
// Shed points (hot path; plain boolean reads, nothing allocated):
//   overload.keepAliveDisabled  'disable-keepalive': answer with `Connection: close`; on h2,
//                               send GOAWAY (on 'change') so clients reconnect elsewhere.
//   overload.shedOrigin         'shed-origin-requests': a request that would go to the origin
//                               gets `throw overload.shedError()` (503 + Retry-After); cache
//                               hits, stale-while-revalidate/if-error and static files are
//                               still served.
//   overload.recordOriginResult(ok) after each origin request.
// Reported to the supervisor (readiness):
//   overload.level()            'failing' while 'report-failing' is active, else 'overloaded'
//                               while 'report-overloaded' is active or connection admission
//                               (admission.ts, stepped on each tick) limits the worker, else 'ok'.
//
// Every action change is logged once per tick with the pressure and raw signal of every
// monitor, and mirrored in anyedge_overload_action_active{action}. A monitor that throws or
// returns NaN keeps its previous value (logged once): a broken monitor neither sheds traffic
// nor hides real pressure it reported before.
import { EventEmitter } from 'node:events';
import type { OverloadConfig } from '../config/schema.js';
import { AnyedgeError } from '../errors.js';
import type { ConnectionAdmission } from './admission.js';
import type { Logger } from '../log.js';
import type { WorkerMetrics } from '../metrics.js';
import { processMonitors, originErrorRateMonitor, type LoadSources, type Monitor, type MonitorName } from './monitors.js';
import { OriginErrorWindow, type OriginErrorWindowOptions } from './origin-errors.js';
import { nextActive, pressureOf } from './pressure.js';

/** Named actions, in the order they usually start as pressure rises. */
export const OVERLOAD_ACTIONS = ['disable-keepalive', 'shed-origin-requests', 'report-overloaded', 'report-failing'] as const;
export type OverloadAction = (typeof OVERLOAD_ACTIONS)[number];
export type OverloadLevel = 'ok' | 'overloaded' | 'failing';

/** Where each action's start pressure lives in `overload.actions`. */
const ACTION_KEYS: Record<OverloadAction, keyof OverloadConfig['actions']> = {
  'disable-keepalive': 'disableKeepAlive',
  'shed-origin-requests': 'shedOriginRequests',
  'report-overloaded': 'reportOverloaded',
  'report-failing': 'reportFailing',
};

export interface OverloadSnapshot {
  /** Overall pressure: the max over monitors. */
  overall: number;
  /** Pressure 0..1 per monitor. */
  pressure: Partial<Record<MonitorName, number>>;
  /** Raw signal per monitor, in the unit of its thresholds. */
  signals: Partial<Record<MonitorName, number>>;
  /** Active actions, in OVERLOAD_ACTIONS order. */
  actions: OverloadAction[];
  level: OverloadLevel;
}

export interface IntervalTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface OverloadManagerOptions {
  sources: LoadSources;
  /**
   * Replaces the process monitors (event-loop delay and utilisation, in-flight, connections,
   * heap). The origin-error-rate monitor fed by recordOriginResult() is always added unless
   * one named 'originErrorRate' is given here.
   */
  monitors?: Monitor[];
  originErrors?: OriginErrorWindowOptions;
  /** Default: global setInterval (unref'd) / clearInterval. */
  timers?: IntervalTimers;
  /** Monotonic milliseconds for the origin error window. Default performance.now. */
  now?: () => number;
  log?: Logger;
  metrics?: WorkerMetrics;
  /** Connection admission, stepped on every tick. */
  admission?: ConnectionAdmission;
}

const defaultTimers: IntervalTimers = {
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval(handle) { clearInterval(handle as ReturnType<typeof setInterval>); },
};

export class OverloadManager extends EventEmitter<{ change: [OverloadSnapshot] }> {
  readonly cfg: OverloadConfig;
  readonly #monitors: readonly Monitor[];
  readonly #thresholds: ReadonlyArray<{ low: number; high: number }>;
  readonly #signals: Float64Array;
  readonly #pressures: Float64Array;
  readonly #broken: boolean[];
  readonly #active: boolean[] = OVERLOAD_ACTIONS.map(() => false);
  readonly #originErrors: OriginErrorWindow;
  readonly #timers: IntervalTimers;
  readonly #log: Logger | undefined;
  readonly #metrics: WorkerMetrics | undefined;
  readonly #admission: ConnectionAdmission | undefined;
  readonly #now: () => number;
  #overall = 0;
  #handle: unknown;
  #running = false;
  #keepAliveDisabled = false;
  #shedOrigin = false;
  #level: OverloadLevel = 'ok';

  constructor(cfg: OverloadConfig, opts: OverloadManagerOptions) {
    super();
    this.cfg = cfg;
    const now = opts.originErrors?.now ?? opts.now;
    this.#originErrors = new OriginErrorWindow(now === undefined ? opts.originErrors : { ...opts.originErrors, now });
    const monitors = [...(opts.monitors ?? processMonitors(opts.sources))];
    if (!monitors.some((m) => m.name === 'originErrorRate')) monitors.push(originErrorRateMonitor(this.#originErrors));
    this.#monitors = monitors;
    this.#thresholds = monitors.map((m) => cfg[m.name]);
    this.#signals = new Float64Array(monitors.length);
    this.#pressures = new Float64Array(monitors.length);
    this.#broken = monitors.map(() => false);
    this.#timers = opts.timers ?? defaultTimers;
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#admission = opts.admission;
    this.#now = opts.now ?? (() => performance.now());
    if (this.#metrics) {
      for (const a of OVERLOAD_ACTIONS) this.#metrics.overloadActionActive.set({ action: a }, 0);
      for (const m of monitors) this.#metrics.overloadPressure.set({ monitor: m.name }, 0);
    }
  }

  /** 'disable-keepalive' is active: close connections after the response, GOAWAY on h2. */
  get keepAliveDisabled(): boolean { return this.#keepAliveDisabled; }

  /** 'shed-origin-requests' is active: answer origin-bound requests with shedError(). */
  get shedOrigin(): boolean { return this.#shedOrigin; }

  /** What readiness should hear from this worker. */
  level(): OverloadLevel { return this.#level; }

  /** Starts the monitors and the sampling interval. Does nothing when overload.enabled is false. */
  start(): void {
    if (!this.cfg.enabled || this.#running) return;
    this.#running = true;
    for (const m of this.#monitors) m.start?.();
    this.#handle = this.#timers.setInterval(() => this.tick(), this.cfg.interval);
  }

  /** Stops sampling; the actions keep their last state. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#timers.clearInterval(this.#handle);
    this.#handle = undefined;
    for (const m of this.#monitors) m.stop?.();
  }

  /**
   * Called by the pipeline after each origin request. ok = false when the origin could not be
   * reached, reset or timed out, or answered 502/503/504; anything else it answered is ok.
   */
  recordOriginResult(ok: boolean): void {
    this.#originErrors.record(ok);
  }

  /** The shed point's answer for an origin-bound request: 503 + Retry-After. Counts the shed. */
  shedError(): AnyedgeError {
    this.#metrics?.overloadShed.inc();
    return new AnyedgeError('OVERLOADED', 'this node is overloaded and does not forward requests to the origin now', {
      retryable: true,
      headers: { 'retry-after': String(this.cfg.retryAfter) },
    });
  }

  /** One sampling step: the interval calls it; tests call it directly. */
  tick(): void {
    if (!this.cfg.enabled) return;
    let overall = 0;
    for (let i = 0; i < this.#monitors.length; i++) {
      const m = this.#monitors[i]!;
      let value: number;
      let error: unknown;
      try {
        value = m.sample();
      } catch (err) {
        value = Number.NaN;
        error = err;
      }
      if (typeof value !== 'number' || Number.isNaN(value)) {
        if (!this.#broken[i]) {
          this.#broken[i] = true;
          this.#log?.warn({ monitor: m.name, err: error, value }, 'overload monitor failed; keeping its previous value');
        }
      } else {
        if (this.#broken[i]) {
          this.#broken[i] = false;
          this.#log?.info({ monitor: m.name, value }, 'overload monitor recovered');
        }
        this.#signals[i] = value;
        this.#pressures[i] = pressureOf(value, this.#thresholds[i]!);
      }
      const p = this.#pressures[i]!;
      if (p > overall) overall = p;
      this.#metrics?.overloadPressure.set({ monitor: m.name }, p);
      if (m.name === 'eventLoopDelayMs') this.#metrics?.eventLoopDelay.set(this.#signals[i]! / 1000);
    }
    this.#overall = overall;
    this.#admission?.update(this.#now());

    let started: OverloadAction[] | undefined;
    let stopped: OverloadAction[] | undefined;
    for (let i = 0; i < OVERLOAD_ACTIONS.length; i++) {
      const action = OVERLOAD_ACTIONS[i]!;
      const was = this.#active[i]!;
      const now = nextActive(was, overall, this.cfg.actions[ACTION_KEYS[action]], this.cfg.hysteresis);
      if (now === was) continue;
      this.#active[i] = now;
      if (now) (started ??= []).push(action);
      else (stopped ??= []).push(action);
      this.#metrics?.overloadActionActive.set({ action }, now ? 1 : 0);
    }
    // A worker limiting its connections is overloaded: it turns clients away.
    const level: OverloadLevel = this.#active[3] ? 'failing' : this.#active[2] || this.#admission?.limiting ? 'overloaded' : 'ok';
    if (started === undefined && stopped === undefined && level === this.#level) return;

    this.#keepAliveDisabled = this.#active[0]!;
    this.#shedOrigin = this.#active[1]!;
    const levelChanged = level !== this.#level;
    this.#level = level;
    const snap = this.snapshot();
    const fields = { started: started ?? [], stopped: stopped ?? [], actions: snap.actions, overloadLevel: snap.level, overall, pressure: snap.pressure, signals: snap.signals };
    if (started) this.#log?.warn(fields, `overload: started ${started.join(', ')}`);
    else if (stopped) this.#log?.info(fields, `overload: stopped ${stopped.join(', ')}`);
    else if (levelChanged) this.#log?.info({ ...fields, admissionLimit: this.#admission?.limit }, `overload: level ${level}`);
    this.emit('change', snap);
  }

  /** Pressures, signals and actions as of the last tick (for logs, IPC and the admin API). */
  snapshot(): OverloadSnapshot {
    const pressure: Partial<Record<MonitorName, number>> = {};
    const signals: Partial<Record<MonitorName, number>> = {};
    this.#monitors.forEach((m, i) => {
      pressure[m.name] = this.#pressures[i]!;
      signals[m.name] = this.#signals[i]!;
    });
    return {
      overall: this.#overall,
      pressure,
      signals,
      actions: OVERLOAD_ACTIONS.filter((_, i) => this.#active[i]),
      level: this.#level,
    };
  }
}
