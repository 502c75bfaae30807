// Whether a stored response may answer a request (RFC 9111 §4), and when it may be served
// stale (§4.2.4, RFC 5861). Times in milliseconds.
import type { RequestDirectives } from './cache-control.js';

/** What the cache knows about a stored response for reuse decisions (a StoredResponse is one). */
export interface ReuseState {
  /** Freshness lifetime (§4.2.1), ms. */
  readonly lifetime: number;
  /** Unqualified no-cache (§5.2.2.4): validate before every reuse. */
  readonly noCache: boolean;
  /** Serving stale is prohibited (must-revalidate, proxy-revalidate, s-maxage, no-cache; §4.2.4). */
  readonly noStale: boolean;
  /** RFC 8246 immutable: the response will not change while it is fresh. */
  readonly immutable: boolean;
  /** stale-while-revalidate window, ms (RFC 5861 §3). */
  readonly staleWhileRevalidate: number | undefined;
  /** stale-if-error window from the response, ms (RFC 5861 §4). */
  readonly staleIfError: number | undefined;
  /** Soft-purged: treated as stale and validated before reuse. */
  readonly invalidated: boolean;
}

/**
 * - fresh: use it (§4.2).
 * - stale-allowed: stale, but the request's max-stale accepts it (§5.2.1.2).
 * - stale-while-revalidate: serve it now and refresh in the background (RFC 5861 §3).
 * - validate: send a conditional request first (§4.3).
 */
export type ReuseDecision = 'fresh' | 'stale-allowed' | 'stale-while-revalidate' | 'validate';

/** `age` is the stored response's current age (§4.2.3), ms. */
export function reuseDecision(s: ReuseState, age: number, req: RequestDirectives): ReuseDecision {
  // §5.2.2.4: a no-cache response is validated before every use.
  if (s.noCache) return 'validate';
  const fresh = !s.invalidated && s.lifetime > age;
  // §5.2.1.4: the client asks for validation (an immutable fresh response excepted, below).
  if (req.noCache && !(fresh && s.immutable)) return 'validate';
  if (fresh) {
    // RFC 8246 §2: an immutable response does not change while fresh, so a client's reload
    // (no-cache, max-age=0) has nothing to learn from the origin. §5.2.1.1 and §5.2.1.4 state
    // the client's preference, which an edge may decline; this keeps reload storms off the origin.
    if (s.immutable && req.minFresh === undefined) return 'fresh';
    // §5.2.1.1: the client wants nothing older than max-age.
    if (req.maxAge !== undefined && age > req.maxAge * 1000) return 'validate';
    // §5.2.1.3: the response must stay fresh for at least min-fresh more.
    if (req.minFresh !== undefined && s.lifetime - age < req.minFresh * 1000) return 'validate';
    return 'fresh';
  }
  // Stale from here on. §4.2.4: never when a directive prohibits it.
  if (s.noStale) return 'validate';
  // A soft purge means "validate on next use": never served stale by choice.
  if (s.invalidated) return 'validate';
  const staleness = age - s.lifetime;
  if (req.maxStale !== undefined && staleness <= req.maxStale * 1000) {
    if (req.maxAge === undefined || age <= req.maxAge * 1000) return 'stale-allowed';
  }
  // RFC 5861 §3; a request that asks for something fresher (max-age, min-fresh) is not served stale.
  if (
    s.staleWhileRevalidate !== undefined && staleness <= s.staleWhileRevalidate
    && req.maxAge === undefined && req.minFresh === undefined
  ) return 'stale-while-revalidate';
  return 'validate';
}

/**
 * Whether a stale stored response may be served because the origin failed (an error, a
 * timeout or a 5xx): RFC 5861 §4 and §4.2.4's "disconnected" case. The window is the
 * request's stale-if-error when it sends one (it may narrow or widen what it accepts), else
 * the response's, else the configured default. Prohibited whenever serving stale is
 * (must-revalidate and friends).
 */
export function staleIfErrorAllowed(s: ReuseState, age: number, req: RequestDirectives, defaultWindowMs: number): boolean {
  if (s.noStale) return false;
  const window = req.staleIfError !== undefined ? req.staleIfError * 1000 : s.staleIfError ?? defaultWindowMs;
  const staleness = Math.max(0, age - s.lifetime);
  return staleness <= window && window > 0;
}
