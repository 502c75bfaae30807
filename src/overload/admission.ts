// Connection admission: a limit on the busy client connections one worker serves.
//
// Why connections and not requests: on a TLS edge, answering a request costs about as much as
// refusing it (both are decrypted, parsed, answered and encrypted), so a 503 saves a Node
// process almost nothing, and a closed-loop client sends the next request at once. What is
// cheap is not starting work: a connection held before its TLS handshake costs a descriptor
// and no CPU. With B busy connections the loop serves them in turns, so each request waits
// about B × (CPU per request): bounding B bounds the latency of every request the worker
// admits (Little's law), and B at that bound still keeps the worker at its peak rate.
//
// The limit is computed, not searched for: every step (the overload manager's tick) measures
// the CPU per request over the interval (busy loop time / requests answered, smoothed) and
// how long a request waits for the loop's turn (loopWaitSince()), and the capacity is the larger of two estimates of the busy
// connections that keep a request's queueing within targetDelay: targetDelay / (CPU per
// request), which counts every busy connection as always having a request waiting, and busy
// × targetDelay / (that wait), which also sees clients that pause
// between requests. When the loop is saturated (utilisation ≥ saturation) and more
// connections are busy than the capacity, the worker limits itself to the capacity: the
// newest busy connections above it are told to go (Connection: close on their next response,
// GOAWAY on h2; idle ones are left alone, they cost nothing) and new connections wait before
// TLS. While the loop stays saturated the limit follows the capacity, down at once and up by
// a quarter a step, but not within a dead band of a fifth around it (the estimate moves that
// much from step to step under a steady load, and every move down tells connections to go,
// which come back with a handshake); while it is not, and connections wait, the limit grows
// by a quarter a step; it is lifted after releaseAfter without saturation. Between steps a
// connection let in holds a place until the next step counts it or it closes. Searching (AIMD on the event-loop
// delay alone) was tried first: every step up admitted a batch of handshakes, whose CPU read
// as overload, and the limit sank to its floor with half the goodput. Limiting by CPU alone
// did the opposite wrong with 400 paced clients (wrk, 2026-12-02): a limit of 180 left the
// loop 40 % idle while connections waited and were refused.
//
// A waiting connection is admitted when a place frees up (newest first while limited), or
// closed after queueTimeout (as a full accept queue would refuse it); at most maxQueued wait, the rest are closed at once. A
// connection closed and opened again costs a full handshake (about 15 cache hits' worth of
// CPU with ECDSA P-256), so waiting is better than a quick refusal that the client answers
// by reconnecting at once; but not for long: once the route is de-preferred, a client that
// gives up and reconnects is routed to another node.
//
// Handshakes are also limited on their own, limit or not: at most maxHandshakes run at once
// per worker and the rest wait in the same queue, so a burst of new connections (a load test
// starting, clients coming back after a route change) is taken in small batches between
// requests instead of stalling every open connection behind it.
//
//   const admission = new ConnectionAdmission(cfg.overload.admission, sources);
//   admission.update(performance.now());               // once per overload tick
//   admission.offer(socket, () => startTls(socket));    // on each accepted TCP connection
//   admission.excess()                                  // busy connections to shed now
import type { Socket } from 'node:net';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { OverloadConfig } from '../config/schema.js';

export type AdmissionConfig = OverloadConfig['admission'];

export interface AdmissionSources {
  /** Admitted client connections open now (TLS handshaking or established). */
  open(): number;
  /** Admitted connections whose TLS handshake is still running. */
  handshaking(): number;
  /** Requests answered so far (a counter that only grows). */
  requests(): number;
  /** Connections with a request since the previous call, or one in progress. */
  busy(): number;
  /** Event-loop utilisation 0..1 since the previous call. */
  utilization(): number;
  /** How long (ms) a request waited for the loop's turn since the previous call, as loopWaitSince() estimates it. */
  loopWait(): number;
  /** Releases what the sources hold (called by close()). */
  stop?(): void;
}

export interface AdmissionStats {
  /** The limit now; Infinity when not limiting. */
  limit: number;
  /** Connections waiting for a place. */
  queued: number;
  /** Connections closed without being admitted (queue full or timed out), since start. */
  refused: number;
  /** Connections admitted after waiting, since start. */
  dequeued: number;
}

interface Waiting {
  socket: Socket;
  admit: () => void;
  timer: NodeJS.Timeout;
  onClose: () => void;
}

/** Most a limit grows in one step. */
const GROW = 1.25;
/** Moves of the capacity estimate within this share of the limit leave the limit where it is. */
const BAND = 0.2;

export class ConnectionAdmission {
  readonly cfg: AdmissionConfig;
  readonly #sources: AdmissionSources;
  readonly #queue: Waiting[] = [];
  #limit = Number.POSITIVE_INFINITY;
  #calmSince: number | undefined;
  #cost: number | undefined;
  #wait: number | undefined;
  #lastRequests = 0;
  #lastAt: number | undefined;
  #busy = 0;
  /** Connections let in since the last step and still open, while limited: not in #busy yet, but busy as soon as their handshake ends. */
  #admittedSinceStep = 0;
  #step = 0;
  #refused = 0;
  #dequeued = 0;
  /** Called with the new limit when it changes between limited and unlimited, or moves. */
  onLimit: ((limit: number, reason: string) => void) | undefined;
  /** Called after every update() (the server sheds excess() connections then). */
  onStep: (() => void) | undefined;
  /** Called once per connection closed without admission. */
  onRefuse: ((why: 'queue-full' | 'timeout') => void) | undefined;

  constructor(cfg: AdmissionConfig, sources: AdmissionSources) {
    this.cfg = cfg;
    this.#sources = sources;
  }

  get limit(): number { return this.#limit; }
  get limiting(): boolean { return this.#limit !== Number.POSITIVE_INFINITY; }

  stats(): AdmissionStats {
    return { limit: this.#limit, queued: this.#queue.length, refused: this.#refused, dequeued: this.#dequeued };
  }

  /** Busy connections above the limit (as of the last step): the server tells that many to go. */
  excess(): number {
    if (!this.limiting) return 0;
    return Math.max(0, this.#busy - this.#limit);
  }

  /** Smoothed CPU milliseconds per request; undefined before the first busy interval. */
  get costMs(): number | undefined { return this.#cost; }

  /** Smoothed wait for the loop's turn, ms; undefined before the first step. */
  get loopWaitMs(): number | undefined { return this.#wait; }

  /** One control step; nowMs is monotonic. Returns the limit after the step. */
  update(nowMs: number): number {
    const requests = this.#sources.requests();
    const utilization = this.#sources.utilization();
    const busy = this.#sources.busy();
    this.#busy = busy;
    this.#admittedSinceStep = 0;
    this.#step++;
    const served = requests - this.#lastRequests;
    const interval = this.#lastAt === undefined ? 0 : nowMs - this.#lastAt;
    this.#lastRequests = requests;
    this.#lastAt = nowMs;
    if (!this.cfg.enabled) return this.#limit;
    if (served > 0 && interval > 0 && Number.isFinite(utilization)) {
      const cost = (utilization * interval) / served;
      this.#cost = this.#cost === undefined ? cost : this.#cost * 0.7 + cost * 0.3;
    }
    const wait = this.#sources.loopWait();
    if (interval > 0 && Number.isFinite(wait) && wait >= 0) this.#wait = this.#wait === undefined ? wait : this.#wait * 0.7 + wait * 0.3;
    const { targetDelay, minConnections, saturation, releaseAfter } = this.cfg;
    const capacity = Math.max(minConnections, this.#fit(busy));
    const saturated = utilization >= saturation;
    const before = this.#limit;
    if (saturated && (this.limiting || busy > capacity)) {
      this.#calmSince = undefined;
      // Limited already: follow the capacity down at once, but up by a quarter a step at most,
      // so the handshakes of the connections let in do not all land in one step.
      if (!this.limiting) this.#limit = capacity;
      else {
        const next = Math.max(minConnections, Math.min(capacity, Math.ceil(this.#limit * GROW)));
        // A dead band: the estimate moves 20–50 % from one step to the next under a steady
        // load, and following each move tells connections to go (they come back with a new
        // handshake) and lets others in (with theirs). Only a larger move changes the limit.
        if (next < this.#limit * (1 - BAND) || next > this.#limit * (1 + BAND)) this.#limit = next;
      }
      if (this.#limit !== before) this.onLimit?.(this.#limit, `loop ${(utilization * 100).toFixed(0)} % busy, ${busy} busy connections, ${this.#cost?.toFixed(3) ?? '?'} ms per request, requests wait about ${(this.#wait ?? 0).toFixed(1)} ms: ${capacity} fit in ${targetDelay} ms`);
    } else if (this.limiting) {
      this.#calmSince ??= nowMs;
      if (nowMs - this.#calmSince >= releaseAfter) {
        this.#limit = Number.POSITIVE_INFINITY;
        this.onLimit?.(this.#limit, `loop below ${(saturation * 100).toFixed(0)} % busy for ${releaseAfter} ms`);
      } else if (this.#queue.length > 0) {
        // Not saturated with connections waiting: the limit is too low for what these clients
        // send (they pause between requests); let more in, a quarter a step.
        this.#limit = Math.ceil(this.#limit * GROW);
        this.onLimit?.(this.#limit, `loop ${(utilization * 100).toFixed(0)} % busy with ${this.#queue.length} connections waiting`);
      }
    }
    this.#drainQueue();
    this.onStep?.();
    return this.#limit;
  }

  /**
   * Busy connections that keep a request's queueing within targetDelay. Two estimates, the
   * larger wins:
   * - by CPU: targetDelay / (CPU per request), right when every busy connection always has a
   *   request waiting (a closed-loop load test);
   * - by the loop's turns: a request waits about one turn (loopWaitSince()); busy
   *   connections scale it, so busy × targetDelay / wait fit. This one sees clients that pause between requests,
   *   which the first counts as always waiting: limited by CPU alone, such clients left the
   *   loop idle while connections waited.
   */
  #fit(busy: number): number {
    const { targetDelay } = this.cfg;
    if (targetDelay <= 0) return 0;
    const byCpu = this.#cost === undefined || this.#cost <= 0 ? Number.POSITIVE_INFINITY : targetDelay / this.#cost;
    const wait = this.#wait ?? 0;
    // No lateness measured: no evidence either way, the CPU estimate stands.
    const byDelay = wait > 0 ? (busy * targetDelay) / wait : 0;
    return Math.floor(Math.max(byCpu, byDelay));
  }

  /**
   * A new TCP connection, before any TLS: admit() runs now if there is room, later if a place
   * frees up within queueTimeout; otherwise the socket is destroyed.
   */
  offer(socket: Socket, admit: () => void): void {
    if (!this.cfg.enabled || (this.#queue.length === 0 && this.#room())) {
      this.#count(socket);
      admit();
      return;
    }
    if (this.#queue.length >= this.cfg.maxQueued) {
      this.#refuse(socket, 'queue-full');
      return;
    }
    // Nothing is read while it waits: the ClientHello stays in the kernel until the handshake.
    socket.pause();
    const w: Waiting = {
      socket,
      admit,
      timer: setTimeout(() => {
        this.#remove(w);
        this.#refuse(socket, 'timeout');
      }, this.cfg.queueTimeout),
      onClose: () => this.#remove(w),
    };
    // A client that gives up while waiting: forget it, and no unhandled 'error'.
    socket.on('error', noop);
    socket.once('close', w.onClose);
    this.#queue.push(w);
  }

  /** A connection closed or finished its handshake: its place may go to one that waits. */
  released(): void {
    if (this.#queue.length > 0) this.#drainQueue();
  }

  /** Closes every waiting connection (shutdown). */
  close(): void {
    this.#sources.stop?.();
    for (const w of this.#queue.splice(0)) {
      clearTimeout(w.timer);
      w.socket.off('close', w.onClose);
      w.socket.destroy();
    }
  }

  #drainQueue(): void {
    while (this.#queue.length > 0 && this.#room()) {
      // Overloaded: newest first (adaptive LIFO). A connection that has waited long is the one
      // most likely given up on, and admitting it would put its whole wait into the latency of
      // its first request; the oldest time out instead. Otherwise first come, first served.
      const w = (this.limiting ? this.#queue.pop() : this.#queue.shift())!;
      clearTimeout(w.timer);
      w.socket.off('close', w.onClose);
      w.socket.off('error', noop);
      if (w.socket.destroyed) continue;
      this.#dequeued++;
      this.#count(w.socket);
      // admit() starts reading: a TLS wrap reads the handle itself (a resume() here would race
      // it for the ClientHello); a plain HTTP listener resumes the socket.
      w.admit();
    }
  }

  /**
   * A handshake slot (always, limit or not) and, while limited, a place: fewer busy
   * connections (as of the last step) plus those let in since than the limit. Counting only
   * the handshakes in progress (as this once did) let the queue drain between steps: each
   * handshake that finished made room for the next, so a limit of 60 let 180–270 connections
   * in by the next step, and the step after told the surplus to go (wrk, 400 connections at
   * 2×: 1,200 connections told to go in 8 s, each back with a new handshake).
   */
  #room(): boolean {
    const handshaking = this.#sources.handshaking();
    if (handshaking >= this.cfg.maxHandshakes) return false;
    return !this.limiting || this.#busy + Math.max(handshaking, this.#admittedSinceStep) < this.#limit;
  }

  /**
   * While limited, a connection let in holds a place until the next step counts it (as busy or
   * not) or until it closes (a client that makes one request per connection frees its place
   * at once, so new connections are not held back a whole step).
   */
  #count(socket: Socket): void {
    if (!this.limiting) return;
    this.#admittedSinceStep++;
    const step = this.#step;
    socket.once('close', () => {
      if (this.#step === step) this.#admittedSinceStep--;
    });
  }

  #remove(w: Waiting): void {
    const i = this.#queue.indexOf(w);
    if (i >= 0) this.#queue.splice(i, 1);
    clearTimeout(w.timer);
  }

  #refuse(socket: Socket, why: 'queue-full' | 'timeout'): void {
    this.#refused++;
    this.onRefuse?.(why);
    socket.destroy();
  }
}

function noop(): void {}

/** Event-loop utilisation 0..1 since the previous call of the returned function. */
export function loopUtilizationSince(): () => number {
  let prev: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, prev).utilization;
    prev = now;
    return u;
  };
}

/**
 * How long a request waited for the event loop's turn (ms) since the previous call of the
 * returned function, from a timer due every resolutionMs (one libuv timer, until stop()):
 * - turns shorter than the period: the timer fires up to a turn late, on average half of
 *   one, and a request that arrives during a turn waits for its end, also half a turn on
 *   average, then for its place in the next: about twice the timer's mean lateness;
 * - turns longer than the period (the timer is late on nearly every fire): it fires once a
 *   turn, so the time between fires is the turn itself, and a request waits about one.
 *   Twice the lateness said far less here: turns of 12 ms read as a 4 ms wait with a 10 ms
 *   timer, and the limit let three times too many connections in (wrk, 2026-12-03).
 * 0 when it recorded nothing.
 */
export function loopWaitSince(resolutionMs = 10): { read: () => number; stop: () => void } {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return {
    read: () => {
      if (h.count === 0) return 0;
      // Nanoseconds between two of its timer callbacks, so an idle loop records resolutionMs.
      const period = h.mean / 1e6;
      const everyFireLate = h.percentile(10) / 1e6 > resolutionMs * 1.05;
      const wait = everyFireLate ? period : 2 * Math.max(0, period - resolutionMs);
      h.reset();
      return wait;
    },
    stop: () => h.disable(),
  };
}
