// Resource monitors: each reads one signal of this worker, in the unit of its thresholds in
// `overload.*` (milliseconds, a ratio, a count). The manager samples every monitor once per
// `overload.interval` and turns the value into a pressure 0..1 (see pressure.ts).
//
// A monitor is tiny on purpose so tests can replace it with a fake that returns whatever
// value the test needs; nothing here is on the request path.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { OriginErrorWindow } from './origin-errors.js';

/** Monitor names are the config keys holding their thresholds, and the `monitor` metric label. */
export const MONITOR_NAMES = [
  'eventLoopDelayMs',
  'eventLoopUtilization',
  'inflightRequests',
  'openConnections',
  'heapUsedRatio',
  'originErrorRate',
] as const;
export type MonitorName = (typeof MONITOR_NAMES)[number];

export interface Monitor {
  readonly name: MonitorName;
  /** Called by OverloadManager.start(). */
  start?(): void;
  /** Called by OverloadManager.stop(). */
  stop?(): void;
  /** The signal now, in the unit of `overload[name]`; called once per interval. May throw. */
  sample(): number;
}

/** What the worker counts for the manager; read once per interval. */
export interface LoadSources {
  /** Requests being answered now. */
  inflight(): number;
  /** Client connections open now. */
  connections(): number;
}

/**
 * p99 event-loop delay (ms) over roughly the last two sampling intervals.
 *
 * A histogram records a stall when the loop turns after it, as the time between two of its
 * timer callbacks; reset() also forgets the previous callback, so a stall starting right after
 * a reset would be lost. Two histograms are therefore read and reset in turn: the one not
 * just reset records the stall, and each is read every second sample.
 */
export function eventLoopDelayMonitor(resolutionMs = 10): Monitor {
  let histograms: IntervalHistogram[] = [];
  let next = 0;
  return {
    name: 'eventLoopDelayMs',
    start() {
      if (histograms.length === 0) histograms = [monitorEventLoopDelay({ resolution: resolutionMs }), monitorEventLoopDelay({ resolution: resolutionMs })];
      for (const h of histograms) h.enable();
    },
    stop() { for (const h of histograms) h.disable(); },
    sample() {
      const h = histograms[next];
      next ^= 1;
      if (h === undefined || h.count === 0) return 0;
      // Nanoseconds; an idle loop records about `resolutionMs`.
      const p99 = h.percentile(99) / 1e6;
      h.reset();
      return p99;
    },
  };
}

/** Fraction 0..1 of wall time the event loop spent busy since the previous sample. */
export function eventLoopUtilizationMonitor(): Monitor {
  let prev: EventLoopUtilization | undefined;
  return {
    name: 'eventLoopUtilization',
    start() { prev = performance.eventLoopUtilization(); },
    sample() {
      const now = performance.eventLoopUtilization();
      const delta = prev === undefined ? now : performance.eventLoopUtilization(now, prev);
      prev = now;
      return delta.utilization;
    },
  };
}

export function inflightMonitor(sources: LoadSources): Monitor {
  return { name: 'inflightRequests', sample: () => sources.inflight() };
}

export function connectionsMonitor(sources: LoadSources): Monitor {
  return { name: 'openConnections', sample: () => sources.connections() };
}

/** V8 heap in use over the heap limit (--max-old-space-size): near 1, GC thrashes and then the process dies. */
export function heapMonitor(): Monitor {
  return {
    name: 'heapUsedRatio',
    sample() {
      const s = getHeapStatistics();
      return s.heap_size_limit > 0 ? s.used_heap_size / s.heap_size_limit : 0;
    },
  };
}

/** Share of failed origin requests in the window the pipeline feeds (see origin-errors.ts). */
export function originErrorRateMonitor(window: OriginErrorWindow): Monitor {
  return { name: 'originErrorRate', sample: () => window.rate() };
}

/** The process monitors a worker runs (the origin-error monitor is added by the manager). */
export function processMonitors(sources: LoadSources): Monitor[] {
  return [
    eventLoopDelayMonitor(),
    eventLoopUtilizationMonitor(),
    inflightMonitor(sources),
    connectionsMonitor(sources),
    heapMonitor(),
  ];
}
