// Whether a shared cache may store a response (RFC 9111 §3, §3.5), plus this edge's own
// rules (Set-Cookie, objects it could never reuse).
import type { RequestDirectives, ResponseDirectives } from './cache-control.js';
import { HEURISTICALLY_CACHEABLE } from './freshness.js';
import type { VarySpec } from './vary.js';

/**
 * Status codes this cache understands (§3: a response with must-understand is stored only
 * when its status is understood; §5.2.2.3). 206 and 304 are not: this cache stores only
 * complete responses, and a 304 is never a response to store.
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504,
]);

export interface StorabilityInput {
  /** Request method: only GET responses are stored. */
  method: string;
  status: number;
  directives: ResponseDirectives;
  request: RequestDirectives;
  /** The request carried Authorization (§3.5). */
  authorization: boolean;
  /** An Expires field was present and applies (explicit freshness, §3). */
  hasExpires: boolean;
  vary: VarySpec;
  /** The response carries Set-Cookie. */
  setCookie: boolean;
  storeSetCookie: boolean;
}

/** `undefined` → may be stored; otherwise the reason it is not (used in Cache-Status detail). */
export function notStorableReason(i: StorabilityInput): string | undefined {
  const d = i.directives;
  // §3: "the request method is understood by the cache" — and only GET is stored here.
  if (i.method !== 'GET') return 'method';
  // §3: "the response status code is final"; 206 (partial) and 304 are not stored (see UNDERSTOOD).
  if (i.status < 200 || i.status === 206 || i.status === 304) return 'status';
  // §5.2.2.3 must-understand: store only understood status codes, and then no-store is overridden.
  if (d.mustUnderstand) {
    if (!UNDERSTOOD.has(i.status)) return 'must-understand';
  } else if (d.noStore) {
    return 'no-store'; // §5.2.2.5
  }
  if (i.request.noStore) return 'request-no-store'; // §5.2.1.5
  if (d.private) return 'private'; // §5.2.2.7: a shared cache must not store
  // §3.5: a response to a request with Authorization only with public, s-maxage or must-revalidate.
  if (i.authorization && !d.public && d.sMaxAge === undefined && !d.mustRevalidate) return 'authorization';
  // §4.1: Vary: * can never be matched, so storing it would be wasted memory.
  if (i.vary.kind === 'star') return 'vary-star';
  if (i.setCookie && !i.storeSetCookie) return 'set-cookie';
  // §3: explicit freshness, public, or a heuristically cacheable status code.
  const explicit = i.hasExpires || d.maxAge !== undefined || d.sMaxAge !== undefined;
  if (!explicit && !d.public && !HEURISTICALLY_CACHEABLE.has(i.status)) return 'no-freshness';
  return undefined;
}

/**
 * §3.5 / §4.2.4 flags of a stored response:
 * - authShareable: may answer a request that carries Authorization (public, s-maxage,
 *   must-revalidate: the directives that make a response to one storable, §3.5).
 * - noStale: must not be served stale (§4.2.4): must-revalidate (§5.2.2.2),
 *   proxy-revalidate (§5.2.2.8), s-maxage (§5.2.2.10, implies proxy-revalidate), no-cache.
 */
export function reuseFlags(d: ResponseDirectives): { authShareable: boolean; noStale: boolean } {
  return {
    authShareable: d.public || d.sMaxAge !== undefined || d.mustRevalidate,
    noStale: d.mustRevalidate || d.proxyRevalidate || d.sMaxAge !== undefined || d.noCache,
  };
}
