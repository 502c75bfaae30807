// One load run's request and result, the same whatever generator measured it.

/** fixed: the same path every time (cache hit); unique: a new query per request (miss);
 *  mixed: 90 % the fixed path, 10 % a new query. */
export type Workload = 'fixed' | 'unique' | 'mixed';

export type GeneratorName = 'autocannon' | 'wrk' | 'h2load' | 'tls-loop';

export interface LoadSpec {
  port: number;
  path: string;
  workload: Workload;
  connections: number;
  durationS: number;
  /** Seconds of load before measuring (same connections, results dropped). */
  warmupS: number;
  /** Requests per second offered in total (autocannon overallRate; wrk: a Lua schedule); unset: as fast as possible. */
  rate?: number;
  /** h2 streams per connection (h2load -m). */
  streams?: number;
  /** tls-loop: a new connection per request, full handshake or resumed from a ticket. */
  handshake?: 'full' | 'resumed';
  /** Prefix of unique queries: distinct per run, so no round finds the last one's objects. */
  uniquePrefix: string;
  /** taskset list for the generator. */
  cpus?: string | undefined;
}

export interface LoadResult {
  generator: GeneratorName;
  /** 2xx responses per second (goodput). */
  rps: number;
  /** Latency of 2xx responses, milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Responses received, any status. */
  responses: number;
  non2xx: number;
  /** Socket errors, resets and timeouts. */
  errors: number;
  durationS: number;
  /** Generator-specific facts (resumed handshakes, …). */
  extra?: Record<string, number | string>;
}

/** Percentile of sorted values (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Growable float buffer for latencies (µs precision kept as ms floats). */
export class Samples {
  #buf = new Float64Array(1 << 16);
  #n = 0;
  push(v: number): void {
    if (this.#n === this.#buf.length) { const b = new Float64Array(this.#buf.length * 2); b.set(this.#buf); this.#buf = b; }
    this.#buf[this.#n++] = v;
  }
  get length(): number { return this.#n; }
  sorted(): Float64Array { return this.#buf.slice(0, this.#n).sort(); }
}
