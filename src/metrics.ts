// Every metric name and help text, in one place. Label sets are small and bounded: status
// class rather than status, origin index rather than URL path, never a host or a path.
//
// Workers register theirs in prom-client's global registry; the supervisor collects and
// sums them over IPC (AggregatorRegistry) and adds its own. The sidecar, a separate
// process, has its own registry.
import { Counter, Gauge, Registry, collectDefaultMetrics, register, type LabelValues } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A histogram whose observe() is a bucket search and two array writes. prom-client's
 * Histogram builds a label object, validates and hashes it, and finds the bucket through a
 * number-keyed property on every observe(): about 1 µs a request in the bench profiles, paid
 * on every hit. This one is registered in prom-client's registry as a metric of its own
 * (`get()` gives the same shape a prom-client Histogram gives), so /metrics prints it the
 * same way and the supervisor's AggregatorRegistry sums it over workers. Label values are
 * fixed when a child is made (labels()), never per observation.
 */
export class BucketHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  readonly #bounds: Float64Array;
  readonly #labelNames: readonly L[];
  readonly #children = new Map<string, BucketHistogramChild>();
  /** The unlabelled series (observe() on the histogram itself). */
  #own: BucketHistogramChild | undefined;

  constructor(opts: { name: string; help: string; buckets: readonly number[]; labelNames?: readonly L[]; registers?: Registry[] }) {
    const sorted = [...opts.buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) throw new TypeError(`${opts.name}: buckets must be distinct finite numbers`);
    this.name = opts.name;
    this.help = opts.help;
    this.#bounds = Float64Array.from(sorted);
    this.#labelNames = opts.labelNames ?? [];
    // Like prom-client: an unlabelled histogram shows its (zero) series before any observation.
    if (this.#labelNames.length === 0) this.#own = new BucketHistogramChild(this.#bounds, {});
    for (const r of opts.registers ?? [register]) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series for these label values; keep it and call observe() on it per event. */
  labels(values: Record<L, string>): BucketHistogramChild {
    const names = this.#labelNames;
    for (const k of Object.keys(values)) if (!names.includes(k as L)) throw new TypeError(`${this.name}: unknown label "${k}"`);
    const key = names.map((n) => values[n] ?? '').join('\u0000');
    let child = this.#children.get(key);
    if (child === undefined) {
      const labels: Record<string, string> = {};
      for (const n of names) if (values[n] !== undefined) labels[n] = values[n];
      child = new BucketHistogramChild(this.#bounds, labels);
      this.#children.set(key, child);
    }
    return child;
  }

  observe(value: number): void {
    (this.#own ??= new BucketHistogramChild(this.#bounds, {})).observe(value);
  }

  reset(): void {
    for (const c of this.#children.values()) c.clear();
    this.#own?.clear();
  }

  /** What prom-client's registry reads: the form of its own Histogram's get(). */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: { labels: Record<string, string | number>; value: number; metricName: string }[]; aggregator: 'sum' }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const series = [...this.#children.values()];
    if (this.#own !== undefined) series.push(this.#own);
    const bucket = `${this.name}_bucket`;
    for (const c of series) {
      // A labelled series appears once observed, as in prom-client.
      if (c !== this.#own && c.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ labels: { le: this.#bounds[i]!, ...c.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...c.labels }, value: c.count, metricName: bucket });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: this.aggregator };
  }
}

export class BucketHistogramChild {
  /** Per bucket (not cumulative); the last slot counts values above the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array, readonly labels: Readonly<Record<string, string>>) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';
export const STATUS_CLASSES: readonly StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** Where the load gauges read from at scrape time (set by the process's runtime). */
export interface LoadSources {
  inflight(): number;
  connections(): number;
}
let load: LoadSources = { inflight: () => 0, connections: () => 0 };

/** The gauges of open connections and in-flight requests read these when scraped. */
export function reportLoadFrom(sources: LoadSources): void {
  load = sources;
}

/**
 * Per-request counts kept as plain numbers and added to their prom-client counters when
 * scraped (the counters' collect()): a request costs an array increment instead of a label
 * hash and lookup in prom-client. Scrapes see everything counted before them.
 */
export class RequestTally {
  /** Requests answered, at [classIndex(status) * 2 + (h2 ? 1 : 0)]. */
  readonly requests = new Float64Array(STATUS_CLASSES.length * 2);
  /** Origin answers, at [classIndex(status)]. */
  readonly upstream = new Float64Array(STATUS_CLASSES.length);
  responseBytes = 0;
}

/** A count taken on the hot path: a plain number until the next scrape. */
export interface DeferredCount {
  inc(): void;
}

const FLUSHES = Symbol('anyedge.deferredFlushes');

/**
 * One series of `counter` (the labels given, or none) counted as a plain number and added
 * to the counter when it is scraped: prom-client's inc() builds and hashes a label key on
 * every call (about 70 ns and a string in a loop, more under load), paid on every cache hit.
 * The counter's own collect(), if any, still runs after the deferred counts are added, and
 * every read of the counter (get(), /metrics, the supervisor's aggregation) goes through
 * collect(), so nothing counted before a scrape is missing from it.
 */
export function deferredCount<T extends string>(counter: Counter<T>, labels?: LabelValues<T>): DeferredCount {
  const c = counter as Counter<T> & { collect?: (this: Counter<T>) => void | Promise<void>; [FLUSHES]?: (() => void)[] };
  let flushes = c[FLUSHES];
  if (flushes === undefined) {
    const list: (() => void)[] = [];
    flushes = list;
    c[FLUSHES] = list;
    const own = c.collect;
    c.collect = function collect(this: Counter<T>) {
      for (const f of list) f();
      return own?.call(this);
    };
  }
  const tally = { n: 0, inc(): void { tally.n++; } };
  flushes.push(labels === undefined
    ? () => { if (tally.n > 0) { counter.inc(tally.n); tally.n = 0; } }
    : () => { if (tally.n > 0) { counter.inc(labels, tally.n); tally.n = 0; } });
  return tally;
}

/** Index of a status's class in STATUS_CLASSES. */
export function classIndex(status: number): number {
  return status < 200 ? 0 : status < 300 ? 1 : status < 400 ? 2 : status < 500 ? 3 : 4;
}

function createWorkerMetrics(reg: Registry) {
  const r = [reg];
  const tally = new RequestTally();
  return {
    tally,
    requests: new Counter({
      name: 'anyedge_requests_total', help: 'Requests answered, by HTTP status class and protocol.', labelNames: ['class', 'proto'] as const, registers: r,
      collect() {
        const t = tally.requests;
        for (let i = 0; i < t.length; i++) {
          const n = t[i]!;
          if (n > 0) { this.inc({ class: STATUS_CLASSES[i >> 1]!, proto: (i & 1) === 1 ? 'h2' : 'h1' }, n); t[i] = 0; }
        }
      },
    }),
    requestDuration: new BucketHistogram({ name: 'anyedge_request_duration_seconds', help: 'Time from request headers to the end of the response.', labelNames: ['class'] as const, buckets: LATENCY_BUCKETS, registers: r }),
    responseBytes: new Counter({
      name: 'anyedge_response_body_bytes_total', help: 'Response body bytes sent to clients, for complete responses with a Content-Length (streamed bodies of unknown length are not counted).', registers: r,
      collect() { if (tally.responseBytes > 0) { this.inc(tally.responseBytes); tally.responseBytes = 0; } },
    }),
    upstreamRequests: new Counter({
      name: 'anyedge_upstream_requests_total', help: 'Requests sent to origins, by status class of the answer.', labelNames: ['class'] as const, registers: r,
      collect() {
        const t = tally.upstream;
        for (let i = 0; i < t.length; i++) {
          const n = t[i]!;
          if (n > 0) { this.inc({ class: STATUS_CLASSES[i]! }, n); t[i] = 0; }
        }
      },
    }),
    upstreamDuration: new BucketHistogram({ name: 'anyedge_upstream_duration_seconds', help: 'Time from sending a request to the origin to its response headers.', buckets: LATENCY_BUCKETS, registers: r }),
    upstreamErrors: new Counter({ name: 'anyedge_upstream_errors_total', help: 'Origin failures, by error code (AE_UPSTREAM_*).', labelNames: ['code'] as const, registers: r }),
    upstreamRetries: new Counter({ name: 'anyedge_upstream_retries_total', help: 'Idempotent requests retried after a connection failed before anything was sent.', registers: r }),
    tlsHandshakes: new Counter({ name: 'anyedge_tls_handshakes_total', help: 'Completed TLS handshakes, by whether the session was resumed.', labelNames: ['resumed'] as const, registers: r }),
    tlsErrors: new Counter({ name: 'anyedge_tls_errors_total', help: 'TLS handshakes that failed.', registers: r }),
    // Read from the server's own counters when scraped: nothing to update per request.
    openConnections: new Gauge({ name: 'anyedge_open_connections', help: 'Client connections open now (TLS and plain).', registers: r, collect() { this.set(load.connections()); } }),
    inflightRequests: new Gauge({ name: 'anyedge_inflight_requests', help: 'Requests being answered now.', registers: r, collect() { this.set(load.inflight()); } }),
    clientErrors: new Counter({ name: 'anyedge_client_errors_total', help: 'Malformed or refused requests, by error code.', labelNames: ['code'] as const, registers: r }),
    // cache (issue: the edge cache)
    cacheLookups: new Counter({ name: 'anyedge_cache_lookups_total', help: 'Cache lookups by result: hit, miss, stale, revalidated, bypass.', labelNames: ['result'] as const, registers: r }),
    cacheCoalesced: new Counter({ name: 'anyedge_cache_coalesced_total', help: 'Requests that waited for another request fetching the same key.', registers: r }),
    cacheStoredBytes: new Gauge({ name: 'anyedge_cache_stored_bytes', help: 'Bytes held by the cache (bodies, headers, metadata).', registers: r }),
    cacheStoredObjects: new Gauge({ name: 'anyedge_cache_stored_objects', help: 'Objects held by the cache.', registers: r }),
    cacheEvictions: new Counter({ name: 'anyedge_cache_evictions_total', help: 'Objects evicted to stay within cache.maxSize.', registers: r }),
    cachePurged: new Counter({ name: 'anyedge_cache_purged_total', help: 'Objects removed or marked stale by purge, by kind.', labelNames: ['kind'] as const, registers: r }),
    // overload (issue: overload and readiness)
    overloadPressure: new Gauge({ name: 'anyedge_overload_pressure', help: 'Pressure 0..1 per monitor (max over workers).', labelNames: ['monitor'] as const, registers: r, aggregator: 'max' }),
    overloadActionActive: new Gauge({ name: 'anyedge_overload_action_active', help: '1 while a named overload action is active in some worker.', labelNames: ['action'] as const, registers: r, aggregator: 'max' }),
    overloadShed: new Counter({ name: 'anyedge_overload_shed_total', help: 'Requests answered 503 by the shed action.', registers: r }),
    eventLoopDelay: new Gauge({ name: 'anyedge_event_loop_delay_p99_seconds', help: 'p99 event-loop delay over the last overload interval (max over workers).', registers: r, aggregator: 'max' }),
    admissionLimit: new Gauge({ name: 'anyedge_admission_limit_connections', help: 'Connections the workers admit now (sum; 0 while no worker limits: see anyedge_admission_limited).', registers: r }),
    admissionLimited: new Gauge({ name: 'anyedge_admission_limited', help: '1 while some worker limits the connections it admits.', registers: r, aggregator: 'max' }),
    admissionQueued: new Gauge({ name: 'anyedge_admission_queued_connections', help: 'New connections waiting, before TLS, for a place.', registers: r }),
    connectionsRefused: new Counter({ name: 'anyedge_connections_refused_total', help: 'Connections closed before TLS by admission, by reason (timeout, queue-full).', labelNames: ['reason'] as const, registers: r }),
    connectionsShed: new Counter({ name: 'anyedge_connections_shed_total', help: 'Open connections told to go (Connection: close, GOAWAY) because they were above the admission limit.', registers: r }),
  };
}

function createSupervisorMetrics(reg: Registry) {
  const r = [reg];
  return {
    workersAlive: new Gauge({ name: 'anyedge_workers_alive', help: 'Worker processes currently serving.', registers: r }),
    workerRestarts: new Counter({ name: 'anyedge_worker_restarts_total', help: 'Workers replaced after they exited unexpectedly.', registers: r }),
    ready: new Gauge({ name: 'anyedge_ready', help: '1 when /readyz answers 200 (ready or overloaded).', registers: r }),
    readinessState: new Gauge({ name: 'anyedge_readiness_state', help: '1 for the current readiness state.', labelNames: ['state'] as const, registers: r }),
    originUp: new Gauge({ name: 'anyedge_origin_up', help: '1 when the active health check sees the origin as up.', labelNames: ['origin'] as const, registers: r }),
    purges: new Counter({ name: 'anyedge_purge_requests_total', help: 'Purge calls on the admin API, by kind.', labelNames: ['kind'] as const, registers: r }),
  };
}

function createSidecarMetrics(reg: Registry) {
  const r = [reg];
  return {
    state: new Gauge({ name: 'anyedge_sidecar_state', help: '1 for the sidecar state machine\'s current state.', labelNames: ['state'] as const, registers: r }),
    announcements: new Counter({ name: 'anyedge_sidecar_announcements_total', help: 'Route announcements sent to the speaker (plain or prepended).', labelNames: ['kind'] as const, registers: r }),
    withdrawals: new Counter({ name: 'anyedge_sidecar_withdrawals_total', help: 'Route withdrawals sent to the speaker.', registers: r }),
    probes: new Counter({ name: 'anyedge_sidecar_probes_total', help: 'Readiness probes by result (ready, overloaded, not_ready, error).', labelNames: ['result'] as const, registers: r }),
    penalty: new Gauge({ name: 'anyedge_sidecar_dampening_penalty', help: 'Current flap-dampening penalty.', registers: r }),
    suppressed: new Gauge({ name: 'anyedge_sidecar_dampening_suppressed', help: '1 while dampening suppresses the announcement.', registers: r }),
    lastTransition: new Gauge({ name: 'anyedge_sidecar_last_transition_timestamp_seconds', help: 'Unix time of the last state transition.', registers: r }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
export type SupervisorMetrics = ReturnType<typeof createSupervisorMetrics>;
export type SidecarMetrics = ReturnType<typeof createSidecarMetrics>;

let worker: WorkerMetrics | undefined;
/** Worker metrics in the global registry (what the supervisor aggregates). */
export function workerMetrics(): WorkerMetrics {
  if (!worker) {
    worker = createWorkerMetrics(register);
    collectDefaultMetrics({ register, prefix: 'anyedge_worker_' });
  }
  return worker;
}

/** A fresh registry with the supervisor's own metrics. */
export function supervisorMetrics(reg = new Registry()): { registry: Registry; metrics: SupervisorMetrics } {
  return { registry: reg, metrics: createSupervisorMetrics(reg) };
}

export function sidecarMetrics(reg = new Registry()): { registry: Registry; metrics: SidecarMetrics } {
  return { registry: reg, metrics: createSidecarMetrics(reg) };
}
