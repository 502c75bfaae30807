// Readiness of the whole node, computed in the supervisor from: workers alive, origin
// health checks, the workers' overload levels, a drain in progress, the maintenance file.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SupervisorMetrics } from '../metrics.js';
import type { WorkerStatus } from './ipc.js';

export type ReadinessState = 'ready' | 'overloaded' | 'draining' | 'disabled' | 'failing';

export interface Readiness {
  ready: boolean;
  state: ReadinessState;
  httpStatus: 200 | 503;
  reasons: string[];
  [detail: string]: unknown;
}

export interface NodeHealthDeps {
  log: Logger;
  metrics: SupervisorMetrics;
  workers: () => { alive: number; expected: number; statuses: WorkerStatus[] };
}

export class NodeHealth {
  readonly #deps: NodeHealthDeps;
  #draining = false;
  #last: ReadinessState | undefined;

  constructor(_config: Readonly<Config>, deps: NodeHealthDeps) {
    this.#deps = deps;
  }

  start(): void {}
  stop(): void {}

  setDraining(on: boolean): void {
    this.#draining = on;
    this.readiness();
  }

  readiness(): Readiness {
    const w = this.#deps.workers();
    const reasons: string[] = [];
    let state = 'ready' as ReadinessState;
    if (this.#draining) { state = 'draining'; reasons.push('drain in progress'); }
    else if (w.alive === 0) { state = 'failing'; reasons.push('no worker is serving'); }
    const r: Readiness = { ready: state === 'ready' || state === 'overloaded', state, httpStatus: state === 'ready' || state === 'overloaded' ? 200 : 503, reasons, workers: { alive: w.alive, expected: w.expected } };
    this.#record(r);
    return r;
  }

  #record(r: Readiness): void {
    if (r.state === this.#last) return;
    this.#deps.log.info({ from: this.#last ?? 'init', to: r.state, reasons: r.reasons }, 'readiness changed');
    this.#last = r.state;
    const m = this.#deps.metrics;
    m.ready.set(r.ready ? 1 : 0);
    for (const s of ['ready', 'overloaded', 'draining', 'disabled', 'failing'] as const) m.readinessState.set({ state: s }, s === r.state ? 1 : 0);
  }
}
