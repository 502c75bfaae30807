// Readiness of the whole node, computed in the supervisor (never in a worker, whose event
// loop may be the thing that is stuck) from: workers alive, active origin health checks,
// the workers' worst overload level, a drain in progress, and the maintenance file.
import type { Config } from '../config/schema.js';
import { computeReadiness, READINESS_STATES, type Readiness } from '../health/readiness.js';
import { MaintenanceFile } from '../health/maintenance.js';
import type { Logger } from '../log.js';
import type { SupervisorMetrics } from '../metrics.js';
import { OriginHealthChecker, type OriginHealthChange } from '../upstream/health-check.js';
import { connectOptions } from '../upstream/origin-pool.js';
import type { WorkerStatus } from './ipc.js';

export type { Readiness };

export interface NodeHealthDeps {
  log: Logger;
  metrics: SupervisorMetrics;
  workers: () => { alive: number; expected: number; statuses: WorkerStatus[] };
  /** An origin went up or down: the workers route around it. */
  onOriginChange?: (change: OriginHealthChange) => void;
}

const LEVELS = { ok: 0, overloaded: 1, failing: 2 } as const;

export class NodeHealth {
  readonly #deps: NodeHealthDeps;
  readonly #maintenance: MaintenanceFile;
  readonly #checker: OriginHealthChecker;
  readonly #hasOrigins: boolean;
  #draining = false;
  #last: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: Readonly<Config>, deps: NodeHealthDeps) {
    this.#deps = deps;
    this.#maintenance = new MaintenanceFile(config.health.maintenanceFile, { log: deps.log });
    const urls = [...new Set(config.hosts.flatMap((h) => h.origins))];
    this.#hasOrigins = urls.length > 0;
    this.#checker = new OriginHealthChecker(urls, config.origin.healthCheck, { connect: connectOptions(config.origin), log: deps.log, metrics: deps.metrics });
    this.#checker.on('change', (c) => {
      deps.onOriginChange?.(c);
      void this.readiness();
    });
  }

  start(): void {
    this.#checker.start();
    // Re-evaluated on a timer too, so a transition (maintenance file, expiry) is logged and
    // reflected in metrics even when nobody asks /readyz.
    this.#timer = setInterval(() => void this.readiness(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    this.#checker.stop();
    clearInterval(this.#timer);
  }

  setDraining(on: boolean): void {
    this.#draining = on;
    void this.readiness();
  }

  origins(): ReturnType<OriginHealthChecker['status']> {
    return this.#checker.status();
  }

  async readiness(): Promise<Readiness & Record<string, unknown>> {
    const w = this.#deps.workers();
    let overload: 'ok' | 'overloaded' | 'failing' = 'ok';
    const actions = new Set<string>();
    for (const s of w.statuses) {
      if (LEVELS[s.overload] > LEVELS[overload]) overload = s.overload;
      for (const a of s.actions) actions.add(a);
    }
    const origins = this.#checker.status();
    const maintenance = await this.#maintenance.check();
    const r = computeReadiness({
      workersAlive: w.alive,
      workersExpected: w.expected,
      origins,
      overload,
      draining: this.#draining,
      maintenance,
      hasOrigins: this.#hasOrigins,
    });
    const detail = {
      ...r,
      workers: { alive: w.alive, expected: w.expected },
      overload: { level: overload, actions: [...actions] },
      origins: origins.map((o) => ({ url: o.url, up: o.up, ...(o.lastError ? { lastError: o.lastError } : {}) })),
      ...(maintenance.active ? { maintenance } : {}),
    };
    this.#record(detail);
    return detail;
  }

  #record(r: Readiness & Record<string, unknown>): void {
    const key = `${r.state}|${r.reasons.join(';')}`;
    if (key === this.#last) return;
    const from = this.#last?.split('|')[0] ?? 'init';
    this.#last = key;
    // Logged with the signals that caused it, as an operator reading the log needs them.
    this.#deps.log[r.state === 'ready' ? 'info' : 'warn']({ from, to: r.state, reasons: r.reasons, workers: r['workers'], overload: r['overload'], origins: r['origins'] }, 'readiness changed');
    const m = this.#deps.metrics;
    m.ready.set(r.ready ? 1 : 0);
    for (const s of READINESS_STATES) m.readinessState.set({ state: s }, s === r.state ? 1 : 0);
  }
}
