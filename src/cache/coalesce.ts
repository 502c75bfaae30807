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
  readonly promise: Promise<LockOutcome<T>>;
  settle(o: LockOutcome<T>): void;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
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
    const existing = this.#pending.get(key);
    if (existing !== undefined) return { leader: false, wait: existing.promise };
    let resolve!: (o: LockOutcome<T>) => void;
    const promise = new Promise<LockOutcome<T>>((r) => { resolve = r; });
    const p: Pending<T> = {
      promise,
      settled: false,
      timer: undefined,
      settle: (o) => {
        if (p.settled) return;
        p.settled = true;
        if (p.timer !== undefined) clearTimeout(p.timer);
        if (this.#pending.get(key) === p) this.#pending.delete(key);
        resolve(o);
      },
    };
    // On timeout the key is unlocked too: the next request to miss it becomes a new leader
    // instead of queueing behind a fetch that is taking too long.
    p.timer = setTimeout(() => p.settle(TIMEOUT), this.#timeoutMs);
    p.timer.unref();
    this.#pending.set(key, p);
    return {
      leader: true,
      lock: {
        release: (o) => p.settle(o),
        get released() { return p.settled; },
      },
    };
  }

  /** Whether a leader currently holds the key. */
  isLocked(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Keys currently locked (for tests and diagnostics). */
  get size(): number {
    return this.#pending.size;
  }
}
