// Fakes for the sidecar's unit tests: a scripted clock, a driver that records what it was
// told, and a logger whose lines the test can read.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Timers } from '../../src/bgp/clock.js';
import type { RouteIntent } from '../../src/bgp/fsm.js';
import type { ApplyResult, RouteDriver } from '../../src/bgp/drivers/route-driver.js';
import type { ProbeResult } from '../../src/bgp/readiness.js';

export interface LogLine { level: number; msg: string; [k: string]: unknown }

export function memoryLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** A clock the test moves; timers fire (on the next turn of the event loop) by moving it. */
export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void; timers: Timers; slept: number[] } {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms) => { t += ms; },
    slept,
    timers: {
      // Sleeping is instant: the clock jumps by the delay asked for.
      setTimeout: (fn, ms) => {
        slept.push(ms);
        return setImmediate(() => { t += ms; fn(); });
      },
      clearTimeout: (h) => clearImmediate(h as ReturnType<typeof setImmediate>),
    },
  };
}

export class RecordingDriver implements RouteDriver {
  readonly name = 'log';
  readonly gone: Promise<string>;
  goAway!: (why: string) => void;
  readonly calls: Array<{ op: 'apply' | 'refresh'; intent: RouteIntent }> = [];
  current: RouteIntent | undefined;
  failNext = 0;
  closed = false;

  constructor() {
    this.gone = new Promise((r) => { this.goAway = r; });
  }

  async start(): Promise<void> {}
  async apply(intent: RouteIntent): Promise<ApplyResult> {
    this.calls.push({ op: 'apply', intent });
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('speaker unreachable');
    }
    const changed = this.current !== intent;
    this.current = intent;
    return { changed, detail: intent };
  }
  async refresh(intent: RouteIntent): Promise<void> {
    this.calls.push({ op: 'refresh', intent });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** The intents applied, in order. */
  get applied(): RouteIntent[] {
    return this.calls.filter((c) => c.op === 'apply').map((c) => c.intent);
  }
}

export const HEALTHY: ProbeResult = { signal: 'healthy', result: 'ready', status: 200, state: 'ready', reasons: [], detail: 'ready', ms: 3 };
export const OVERLOADED: ProbeResult = { signal: 'overloaded', result: 'overloaded', status: 200, state: 'overloaded', reasons: ['event loop delay 700ms'], detail: 'overloaded (event loop delay 700ms)', ms: 3 };
export const DRAINING: ProbeResult = { signal: 'disabled', result: 'not_ready', status: 503, state: 'draining', reasons: ['SIGTERM'], detail: 'draining (SIGTERM)', ms: 3 };
export const FAILING: ProbeResult = { signal: 'failure', result: 'not_ready', status: 503, state: 'failing', reasons: ['no origin up'], detail: 'failing (no origin up)', ms: 3 };
export const REFUSED: ProbeResult = { signal: 'failure', result: 'error', error: 'ECONNREFUSED', detail: 'probe failed: ECONNREFUSED', ms: 1 };
export const TIMEOUT: ProbeResult = { signal: 'failure', result: 'error', error: 'TIMEOUT', detail: 'no answer within 500ms', ms: 500 };
