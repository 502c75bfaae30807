import { pino } from 'pino';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { overloadSchema, type OverloadConfig } from '../../src/config/schema.js';
import { statusFor } from '../../src/errors.js';
import { OverloadManager, type IntervalTimers, type OverloadSnapshot } from '../../src/overload/manager.js';
import type { Monitor, MonitorName } from '../../src/overload/monitors.js';
import { nextActive, pressureOf } from '../../src/overload/pressure.js';
import { workerMetrics } from '../../src/metrics.js';

class FakeMonitor implements Monitor {
  value = 0;
  started = 0;
  stopped = 0;
  fail = false;
  constructor(readonly name: MonitorName) {}
  start(): void { this.started++; }
  stop(): void { this.stopped++; }
  sample(): number {
    if (this.fail) throw new Error('sensor unplugged');
    return this.value;
  }
}

class ManualTimers implements IntervalTimers {
  readonly intervals = new Map<number, { fn: () => void; ms: number }>();
  #id = 0;
  setInterval(fn: () => void, ms: number): unknown {
    const id = ++this.#id;
    this.intervals.set(id, { fn, ms });
    return id;
  }
  clearInterval(handle: unknown): void { this.intervals.delete(handle as number); }
  fire(): void { for (const { fn } of this.intervals.values()) fn(); }
}

function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  // A plain { write } destination: pino calls it synchronously, so lines are there after the call.
  const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { log, lines };
}

/** inflightRequests 0..100 maps linearly onto pressure 0..1, so value = pressure × 100. */
function setup(over: Partial<Record<keyof OverloadConfig, unknown>> = {}) {
  const cfg = overloadSchema.parse({ inflightRequests: { low: 0, high: 100 }, openConnections: { low: 1000, high: 2000 }, ...over });
  const inflight = new FakeMonitor('inflightRequests');
  const connections = new FakeMonitor('openConnections');
  const timers = new ManualTimers();
  let now = 1_000_000;
  const { log, lines } = captureLog();
  const changes: OverloadSnapshot[] = [];
  const m = new OverloadManager(cfg, {
    sources: { inflight: () => 0, connections: () => 0 },
    monitors: [inflight, connections],
    timers,
    now: () => now,
    log,
    metrics: workerMetrics(),
  });
  m.on('change', (s) => changes.push(s));
  return { m, cfg, inflight, connections, timers, lines, changes, advance: (ms: number) => { now += ms; } };
}

async function gauge(name: string, label: string, value: string): Promise<number | undefined> {
  const metric = register.getSingleMetric(name);
  const got = await metric?.get();
  return got?.values.find((v) => v.labels[label] === value)?.value;
}

describe('pressureOf', () => {
  it.each([
    [-5, 0], [10, 0], [20, 0.25], [30, 0.5], [50, 1], [1e9, 1], [Number.POSITIVE_INFINITY, 1],
  ])('value %d with thresholds 10..50 → %d', (value, pressure) => {
    expect(pressureOf(value, { low: 10, high: 50 })).toBeCloseTo(pressure, 10);
  });
  it('NaN stays NaN so the caller can keep the previous value', () => {
    expect(pressureOf(Number.NaN, { low: 0, high: 1 })).toBeNaN();
  });
});

describe('nextActive', () => {
  it.each([
    // active, pressure, start, hysteresis → active
    [false, 0.59, 0.6, 0.1, false],
    [false, 0.6, 0.6, 0.1, true],
    [true, 0.55, 0.6, 0.1, true],
    [true, 0.5, 0.6, 0.1, true],
    [true, 0.49, 0.6, 0.1, false],
    [true, 0.59, 0.6, 0, false],
  ])('active=%s pressure=%d start=%d hysteresis=%d → %s', (active, p, start, h, want) => {
    expect(nextActive(active, p, start, h)).toBe(want);
  });
});

describe('OverloadManager', () => {
  it('maps each monitor to a pressure and takes the max as overall', () => {
    const { m, inflight, connections } = setup();
    inflight.value = 30;
    connections.value = 1500;
    m.tick();
    const s = m.snapshot();
    expect(s.pressure.inflightRequests).toBeCloseTo(0.3);
    expect(s.pressure.openConnections).toBeCloseTo(0.5);
    expect(s.pressure.originErrorRate).toBe(0);
    expect(s.signals).toMatchObject({ inflightRequests: 30, openConnections: 1500 });
    expect(s.overall).toBeCloseTo(0.5);
    expect(s.actions).toEqual([]);
    expect(m.level()).toBe('ok');
  });

  it('starts actions in stages as pressure rises and stops them as it falls', () => {
    const { m, inflight } = setup();
    const at = (p: number) => { inflight.value = p * 100; m.tick(); return { actions: m.snapshot().actions, ka: m.keepAliveDisabled, shed: m.shedOrigin, level: m.level() }; };

    expect(at(0.5)).toEqual({ actions: [], ka: false, shed: false, level: 'ok' });
    expect(at(0.65)).toEqual({ actions: ['disable-keepalive'], ka: true, shed: false, level: 'ok' });
    expect(at(0.85)).toEqual({ actions: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded'], ka: true, shed: true, level: 'overloaded' });
    expect(at(1)).toEqual({ actions: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded', 'report-failing'], ka: true, shed: true, level: 'failing' });
    // report-failing starts at 0.99 and stops below 0.89
    expect(at(0.9).level).toBe('failing');
    expect(at(0.88)).toEqual({ actions: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded'], ka: true, shed: true, level: 'overloaded' });
    expect(at(0.6)).toEqual({ actions: ['disable-keepalive'], ka: true, shed: false, level: 'ok' });
    expect(at(0)).toEqual({ actions: [], ka: false, shed: false, level: 'ok' });
  });

  it('does not flap while pressure hovers around a threshold (hysteresis)', () => {
    const { m, inflight, changes } = setup({ actions: { disableKeepAlive: 0.6, shedOriginRequests: 1, reportOverloaded: 1, reportFailing: 1 }, hysteresis: 0.1 });
    const seen: boolean[] = [];
    for (const p of [0.58, 0.61, 0.57, 0.6, 0.52, 0.59, 0.51, 0.55, 0.49, 0.55, 0.59, 0.58]) {
      inflight.value = p * 100;
      m.tick();
      seen.push(m.keepAliveDisabled);
    }
    expect(seen).toEqual([false, true, true, true, true, true, true, true, false, false, false, false]);
    expect(changes.map((c) => c.actions)).toEqual([['disable-keepalive'], []]);
  });

  it('emits one change per tick that changes actions, logs the signals and sets the metrics', async () => {
    const { m, inflight, connections, changes, lines } = setup();
    expect(await gauge('anyedge_overload_action_active', 'action', 'shed-origin-requests')).toBe(0);

    inflight.value = 90;
    connections.value = 1100;
    m.tick();
    m.tick(); // no change: no event, no log
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ actions: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded'], level: 'overloaded' });
    expect(await gauge('anyedge_overload_action_active', 'action', 'shed-origin-requests')).toBe(1);
    expect(await gauge('anyedge_overload_action_active', 'action', 'report-failing')).toBe(0);
    expect(await gauge('anyedge_overload_pressure', 'monitor', 'inflightRequests')).toBeCloseTo(0.9);
    expect(await gauge('anyedge_overload_pressure', 'monitor', 'openConnections')).toBeCloseTo(0.1);

    const started = lines.filter((l) => l.msg === 'overload: started disable-keepalive, shed-origin-requests, report-overloaded');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ level: 40, overloadLevel: 'overloaded', started: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded'], signals: { inflightRequests: 90, openConnections: 1100 } });

    inflight.value = 10;
    m.tick();
    expect(changes[1]?.actions).toEqual([]);
    expect(await gauge('anyedge_overload_action_active', 'action', 'shed-origin-requests')).toBe(0);
    const stopped = lines.at(-1);
    expect(stopped).toMatchObject({ level: 30, stopped: ['disable-keepalive', 'shed-origin-requests', 'report-overloaded'], signals: { inflightRequests: 10 } });
  });

  it('samples on its interval between start() and stop(), starting and stopping the monitors', () => {
    const { m, inflight, timers, cfg } = setup({ interval: 123 });
    m.start();
    m.start(); // idempotent
    expect([...timers.intervals.values()].map((t) => t.ms)).toEqual([123]);
    expect(inflight.started).toBe(1);
    expect(cfg.interval).toBe(123);

    inflight.value = 70;
    timers.fire();
    expect(m.keepAliveDisabled).toBe(true);

    m.stop();
    expect(timers.intervals.size).toBe(0);
    expect(inflight.stopped).toBe(1);
  });

  it('turns origin errors recorded by the pipeline into pressure over a sliding window', () => {
    const { m, advance } = setup();
    // A handful of failures on a quiet node is noise, not an origin in trouble.
    for (let i = 0; i < 5; i++) m.recordOriginResult(false);
    m.tick();
    expect(m.snapshot().signals.originErrorRate).toBe(0);

    for (let i = 0; i < 10; i++) m.recordOriginResult(true);
    for (let i = 0; i < 25; i++) m.recordOriginResult(false);
    m.tick();
    // 30 of 40 failed: 0.75 → pressure (0.75 - 0.5) / (0.9 - 0.5) = 0.625
    expect(m.snapshot().signals.originErrorRate).toBeCloseTo(0.75);
    expect(m.snapshot().pressure.originErrorRate).toBeCloseTo(0.625);
    expect(m.keepAliveDisabled).toBe(true);

    for (let i = 0; i < 60; i++) m.recordOriginResult(false);
    m.tick();
    expect(m.level()).toBe('failing');

    // The failures age out of the 10 s window.
    advance(10_001);
    m.tick();
    expect(m.snapshot().signals.originErrorRate).toBe(0);
    expect(m.level()).toBe('ok');
    expect(m.snapshot().actions).toEqual([]);
  });

  it('sheds with a 503 carrying Retry-After and counts it', async () => {
    const { m } = setup({ retryAfter: 7 });
    const before = (await register.getSingleMetric('anyedge_overload_shed_total')?.get())?.values[0]?.value ?? 0;
    const err = m.shedError();
    expect(statusFor(err)).toBe(503);
    expect(err.code).toBe('AE_OVERLOADED');
    expect(err.headers).toEqual({ 'retry-after': '7' });
    const after = (await register.getSingleMetric('anyedge_overload_shed_total')?.get())?.values[0]?.value;
    expect(after).toBe(before + 1);
  });

  it('keeps a broken monitor at its last value and logs the failure once', () => {
    const { m, inflight, lines } = setup();
    inflight.value = 70;
    m.tick();
    inflight.fail = true;
    m.tick();
    m.tick();
    expect(m.snapshot().pressure.inflightRequests).toBeCloseTo(0.7);
    expect(m.keepAliveDisabled).toBe(true);
    const warnings = lines.filter((l) => l.msg === 'overload monitor failed; keeping its previous value');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ monitor: 'inflightRequests', err: { message: 'sensor unplugged' } });

    inflight.fail = false;
    inflight.value = 0;
    m.tick();
    expect(m.keepAliveDisabled).toBe(false);
    expect(lines.some((l) => l.msg === 'overload monitor recovered')).toBe(true);
  });

  it('does nothing when overload.enabled is false', () => {
    const { m, inflight, timers } = setup({ enabled: false });
    m.start();
    expect(timers.intervals.size).toBe(0);
    inflight.value = 100;
    m.tick();
    expect(m.keepAliveDisabled).toBe(false);
    expect(m.level()).toBe('ok');
  });
});
