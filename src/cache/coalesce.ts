// Request coalescing: a cache lock per key. The first request to miss a key fetches it (the
// leader); requests that miss the same key meanwhile wait for the leader's outcome instead
// of going to the origin. The lock has a timeout — waiters then fetch for themselves — and
// the leader always releases it, whatever happens, so no key can stay locked.
//
// The outcome tells waiters what to do; they decide for themselves whether what the leader
// got is usable for their own request (Vary, Authorization).

/**
 * - stored: the leader stored (or freshened) this object; waiters may serve it.
 * - stale: the origin failed and the leader served this stale object (stale-if-error).
 * - failed: the leader's fetch failed (error, reset, timeout); waiters compete again.
 * - pass: the response cannot be shared (not storable, too large); waiters fetch themselves.
 * - timeout: the lock timed out before the leader finished; waiters fetch themselves.
 */
export type LockOutcome<T> =
  | { readonly kind: 'stored'; readonly entry: T }
  | { readonly kind: 'stale'; readonly entry: T }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'pass' }
  | { readonly kind: 'timeout' };

/** Held by the leader; release() settles every waiter. Only the first call counts. */
export interface LockHandle<T> {
  release(outcome: LockOutcome<T>): void;
  readonly released: boolean;
}

export type Acquired<T> =
  | { readonly leader: true; readonly lock: LockHandle<T> }
  | { readonly leader: false; readonly wait: Promise<LockOutcome<T>> };

interface Pending<T> {
  /** Made when the first waiter arrives: most misses have none, and pay for no promise. */
  promise: Promise<LockOutcome<T>> | undefined;
  resolve: ((o: LockOutcome<T>) => void) | undefined;
  settled: boolean;
  /** Wakes the waiters at the deadline; armed with the promise, so only when someone waits. */
  timer: NodeJS.Timeout | undefined;
  /** performance.now() after which the lock no longer holds the key. */
  readonly deadline: number;
}

const TIMEOUT: LockOutcome<never> = { kind: 'timeout' };

export class CacheLock<T> {
  readonly #pending = new Map<string, Pending<T>>();
  readonly #timeoutMs: number;

  /** @param timeoutMs how long waiters wait for a leader (cache.lockTimeout). */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Becomes the leader for `key`, or a waiter on the current leader. */
  acquire(key: string): Acquired<T> {
    const now = performance.now();
    const existing = this.#pending.get(key);
    if (existing !== undefined) {
      if (now < existing.deadline) return { leader: false, wait: this.#waitOn(key, existing, now) };
      // Past its deadline the key is unlocked: this request leads instead of queueing
      // behind a fetch that is taking too long (the old leader's release is then ignored).
      this.#settle(key, existing, TIMEOUT);
    }
    const p: Pending<T> = { promise: undefined, resolve: undefined, settled: false, timer: undefined, deadline: now + this.#timeoutMs };
    this.#pending.set(key, p);
    return {
      leader: true,
      lock: {
        release: (o) => this.#settle(key, p, o),
        get released() { return p.settled; },
      },
    };
  }

  #waitOn(key: string, p: Pending<T>, now: number): Promise<LockOutcome<T>> {
    if (p.promise === undefined) {
      p.promise = new Promise<LockOutcome<T>>((r) => { p.resolve = r; });
      // Waiters are released at the leader's deadline, however late they came.
      p.timer = setTimeout(() => this.#settle(key, p, TIMEOUT), Math.max(0, p.deadline - now));
      p.timer.unref();
    }
    return p.promise;
  }

  #settle(key: string, p: Pending<T>, o: LockOutcome<T>): void {
    if (p.settled) return;
    p.settled = true;
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (this.#pending.get(key) === p) this.#pending.delete(key);
    p.resolve?.(o);
  }

  /** Whether a leader currently holds the key. */
  isLocked(key: string): boolean {
    const p = this.#pending.get(key);
    return p !== undefined && performance.now() < p.deadline;
  }

  /** Keys currently locked (for tests and diagnostics). */
  get size(): number {
    const now = performance.now();
    let n = 0;
    for (const p of this.#pending.values()) if (now < p.deadline) n++;
    return n;
  }
}
