// Freshness lifetime (RFC 9111 §4.2.1) for a shared cache, with heuristic freshness
// (§4.2.2) and Expires (§5.3). Milliseconds.
import type { HeaderMap } from '../http/headers.js';
import { parseHttpDate } from '../http/http-date.js';
import type { ResponseDirectives } from './cache-control.js';

/**
 * Status codes that are heuristically cacheable (RFC 9110 §15.1): a response with one of
 * these may get a heuristic lifetime when it has no explicit one.
 */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

export interface HeuristicConfig {
  /** Fraction of (Date − Last-Modified), §4.2.2 suggests 10%. */
  heuristicFraction: number;
  /** Upper bound of a heuristic lifetime, ms. */
  heuristicMax: number;
}

export interface FreshnessInputs {
  status: number;
  directives: ResponseDirectives;
  /** False when a targeted field (RFC 9213) governs: Expires is then ignored. */
  useExpires: boolean;
  headers: HeaderMap;
  /** Date field, ms; undefined when absent or invalid. */
  date: number | undefined;
  /** When the response was received; stands in for a missing Date (§4.2.1). */
  responseTime: number;
}

export interface Freshness {
  /** Freshness lifetime, ms. */
  lifetime: number;
  /** Whether an explicit expiration time was present (s-maxage, max-age or Expires). */
  explicit: boolean;
  heuristic: boolean;
}

/** A single-valued date field: the first field line; undefined when absent, NaN when invalid. */
export function dateField(headers: HeaderMap, name: string): number | undefined {
  const raw = headers[name];
  const v = typeof raw === 'string' ? raw : raw?.[0];
  if (v === undefined) return undefined;
  return parseHttpDate(v) ?? Number.NaN;
}

/**
 * §4.2.1, first match wins for a shared cache:
 *   s-maxage → max-age → Expires − Date → heuristic (§4.2.2) → 0.
 * An invalid Expires ("0", a bad date) means "already expired" (§5.3), and still counts as
 * an explicit expiration time, so no heuristic applies.
 */
export function freshnessLifetime(f: FreshnessInputs, cfg: HeuristicConfig): Freshness {
  const d = f.directives;
  if (d.sMaxAge !== undefined) return { lifetime: d.sMaxAge * 1000, explicit: true, heuristic: false };
  if (d.maxAge !== undefined) return { lifetime: d.maxAge * 1000, explicit: true, heuristic: false };
  if (f.useExpires) {
    const expires = dateField(f.headers, 'expires');
    if (expires !== undefined) {
      if (Number.isNaN(expires)) return { lifetime: 0, explicit: true, heuristic: false };
      const date = f.date ?? f.responseTime;
      return { lifetime: Math.max(0, expires - date), explicit: true, heuristic: false };
    }
  }
  return { lifetime: heuristicLifetime(f, cfg), explicit: false, heuristic: true };
}

/**
 * §4.2.2: only for heuristically cacheable status codes or responses marked `public`
 * (§3: explicitly cacheable), and only from Last-Modified: a fraction of the time since the
 * last modification, bounded by cfg.heuristicMax.
 */
export function heuristicLifetime(f: FreshnessInputs, cfg: HeuristicConfig): number {
  if (!HEURISTICALLY_CACHEABLE.has(f.status) && !f.directives.public) return 0;
  const lm = dateField(f.headers, 'last-modified');
  if (lm === undefined || Number.isNaN(lm)) return 0;
  const since = (f.date ?? f.responseTime) - lm;
  if (since <= 0) return 0;
  return Math.min(Math.floor(since * cfg.heuristicFraction), cfg.heuristicMax);
}
