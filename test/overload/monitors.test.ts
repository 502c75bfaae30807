// The real process monitors, against a really blocked event loop. The block is a bounded
// busy-wait; the waits are timer turns so the delay histograms can record the stall.
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { overloadSchema } from '../../src/config/schema.js';
import { workerMetrics } from '../../src/metrics.js';
import { OverloadManager } from '../../src/overload/manager.js';
import { eventLoopDelayMonitor, eventLoopUtilizationMonitor, heapMonitor, type Monitor } from '../../src/overload/monitors.js';

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* block the event loop */ }
}

/**
 * Lets the loop reach its timers phase, where the delay histograms' timer runs. A timer due
 * later than theirs runs after them (libuv fires due timers in order): this is about order,
 * not speed, so a slow machine does not change the outcome.
 */
const turn = (afterMs = 0) => new Promise<void>((resolve) => setTimeout(resolve, afterMs));

const started: Monitor[] = [];
afterEach(() => { for (const m of started.splice(0)) m.stop?.(); });

describe('real monitors', () => {
  it('event-loop delay pressure rises after the loop is blocked', async () => {
    const cfg = overloadSchema.parse({ eventLoopDelayMs: { low: 100, high: 1000 } });
    const monitor = eventLoopDelayMonitor(10);
    started.push(monitor);
    // The sampling interval is never fired: only the test's tick() samples.
    const timers = { setInterval: () => 0, clearInterval: () => undefined };
    const m = new OverloadManager(cfg, { sources: { inflight: () => 0, connections: () => 0 }, monitors: [monitor], timers, metrics: workerMetrics() });
    m.start();
    await turn(25); // each histogram's first callback (at 10 ms) only notes the time
    m.tick();
    const idle = m.snapshot();
    expect(idle.pressure.eventLoopDelayMs).toBe(0);

    busyWait(400);
    await turn();
    m.tick();
    const blocked = m.snapshot();
    m.stop();
    expect(blocked.signals.eventLoopDelayMs).toBeGreaterThanOrEqual(300);
    expect(blocked.pressure.eventLoopDelayMs).toBeGreaterThan(0.2);
    expect(blocked.overall).toBe(blocked.pressure.eventLoopDelayMs);
    const gauge = (await register.getSingleMetric('anyedge_event_loop_delay_p99_seconds')?.get())?.values[0]?.value;
    expect(gauge).toBeCloseTo(blocked.signals.eventLoopDelayMs! / 1000, 6);

    // The window is one interval: the stall is reported once, then the loop is healthy again.
    await turn();
    m.tick();
    expect(m.snapshot().signals.eventLoopDelayMs).toBeLessThan(100);
  });

  it('event-loop utilisation is near 1 over a busy interval', () => {
    const monitor = eventLoopUtilizationMonitor();
    started.push(monitor);
    monitor.start?.();
    busyWait(100);
    expect(monitor.sample()).toBeGreaterThan(0.8);
  });

  it('heap used ratio is a fraction of the V8 heap limit', () => {
    const r = heapMonitor().sample();
    expect(r).toBeGreaterThan(0);
    expect(r).toBeLessThan(1);
  });
});
