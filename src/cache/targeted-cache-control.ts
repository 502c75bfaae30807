// Which cache directives govern a response at this edge. Targeted fields (RFC 9213) let an
// origin speak to CDNs separately from browsers:
//
//   1. CDN-Cache-Control (RFC 9213 §3), a Structured Field Dictionary (§2.2). When it is
//      valid and non-empty, the cache uses it and ignores Cache-Control and Expires (§2.1).
//   2. Surrogate-Control (W3C Edge Architecture 1.0), the older surrogate field, with
//      Cache-Control syntax; it takes the same precedence over Cache-Control and Expires.
//   3. Cache-Control (RFC 9111 §5.2) with Expires (§5.3).
//
// Both targeted fields are removed before a response leaves the edge (stored-headers.ts).
import type { HeaderMap } from '../http/headers.js';
import { headerValue } from '../http/headers.js';
import { parseDirectives, responseDirectives, type Directives, type ResponseDirectives } from './cache-control.js';
import { parseDictionary } from './structured-field.js';

export type DirectiveSource = 'cdn-cache-control' | 'surrogate-control' | 'cache-control';

export interface EffectiveDirectives {
  readonly source: DirectiveSource;
  readonly directives: ResponseDirectives;
  /** False when a targeted field applies: RFC 9213 §2.1 says to ignore Expires then. */
  readonly useExpires: boolean;
}

/** Directives whose argument is a delta-seconds Integer in a targeted field. */
const INTEGER_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);
/** Directives whose optional argument is a String of field names. */
const STRING_DIRECTIVES = new Set(['no-cache', 'private']);

/**
 * Reads CDN-Cache-Control as a Dictionary (RFC 9213 §2.2). An invalid Structured Field → the
 * whole field is ignored (undefined). A directive whose value has the wrong type (a String
 * for max-age, a negative Integer, `?0`) is ignored on its own.
 */
export function parseTargetedField(value: string): Directives | undefined {
  const dict = parseDictionary(value);
  if (dict === undefined) return undefined;
  const out = new Map<string, string | true | null>();
  for (const [name, v] of dict) {
    if (INTEGER_DIRECTIVES.has(name)) {
      if (v.type === 'integer' && v.value >= 0) out.set(name, String(v.value));
    } else if (v.type === 'boolean') {
      if (v.value) out.set(name, true);
    } else if (STRING_DIRECTIVES.has(name) && v.type === 'string') {
      out.set(name, v.value);
    }
  }
  return out;
}

/** The directives that govern storing and reusing this response here (see top of file). */
export function effectiveDirectives(headers: HeaderMap): EffectiveDirectives {
  const cdn = headerValue(headers, 'cdn-cache-control');
  if (cdn !== undefined) {
    const d = parseTargetedField(cdn);
    if (d !== undefined && d.size > 0) return { source: 'cdn-cache-control', directives: responseDirectives(d), useExpires: false };
  }
  const surrogate = headerValue(headers, 'surrogate-control');
  if (surrogate !== undefined) {
    const d = parseDirectives(surrogate);
    if (d.size > 0) return { source: 'surrogate-control', directives: responseDirectives(d), useExpires: false };
  }
  const value = headerValue(headers, 'cache-control') ?? '';
  let known = recentCacheControl.get(value);
  if (known === undefined) {
    const d = responseDirectives(parseDirectives(value === '' ? undefined : value));
    // Shared by every response with this field value: frozen, so no caller can change it for the others.
    Object.freeze(d.noCacheFields);
    Object.freeze(d.privateFields);
    known = Object.freeze({ source: 'cache-control', directives: Object.freeze(d), useExpires: true });
    if (recentCacheControl.size >= RECENT_CACHE_CONTROL) recentCacheControl.clear();
    recentCacheControl.set(value, known);
  }
  return known;
}

/**
 * Cache-Control values seen lately and what they mean (an origin sends the same few values
 * with every response; parsing one is a few µs per stored miss). Cleared when full: bounded.
 */
const recentCacheControl = new Map<string, EffectiveDirectives>();
const RECENT_CACHE_CONTROL = 256;
