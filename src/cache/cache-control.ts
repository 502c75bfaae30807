// Cache-Control (RFC 9111 §5.2): parsing the field into directives, and reading the request
// (§5.2.1) and response (§5.2.2) directives a shared cache acts on, plus the RFC 5861
// extensions stale-while-revalidate and stale-if-error.
import type { HeaderMap } from '../http/headers.js';
import { headerValue } from '../http/headers.js';

/**
 * Directive name (lower-case) → argument: the argument text (quotes removed), `true` when the
 * directive has no argument, `null` when the element was malformed ("max-age =5").
 * Of a repeated directive the first occurrence counts (§4.2.1 allows "use the first").
 */
export type Directives = ReadonlyMap<string, string | true | null>;

// tchar (RFC 9110 §5.6.2)
function isTchar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d
    || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

/**
 * Parses a Cache-Control value (§5.2): `1#cache-directive`, where
 * `cache-directive = token [ "=" ( token / quoted-string ) ]`, names case-insensitive.
 * No whitespace is allowed around "=": such an element is recorded as malformed (null), as
 * is anything left over before the next comma. Commas inside quoted strings do not split
 * (`extension="max-age=100, x"` is one directive, and its text is never read as max-age).
 */
export function parseDirectives(value: string | undefined): Directives {
  const out = new Map<string, string | true | null>();
  if (value === undefined) return out;
  const s = value;
  const n = s.length;
  let i = 0;
  const skipToComma = (): void => {
    let quoted = false;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (quoted) {
        if (c === 0x5c) i++;
        else if (c === 0x22) quoted = false;
      } else if (c === 0x22) quoted = true;
      else if (c === 0x2c) return;
      i++;
    }
  };
  while (i < n) {
    const c0 = s.charCodeAt(i);
    if (c0 === 0x20 || c0 === 0x09 || c0 === 0x2c) { i++; continue; }
    const start = i;
    while (i < n && isTchar(s.charCodeAt(i))) i++;
    if (i === start) { skipToComma(); continue; } // not a token: skip the element
    const name = s.slice(start, i).toLowerCase();
    let arg: string | true | null = true;
    if (s.charCodeAt(i) === 0x3d /* = */) {
      i++;
      if (s.charCodeAt(i) === 0x22 /* " */) {
        i++;
        let text = '';
        let closed = false;
        while (i < n) {
          const c = s.charCodeAt(i);
          if (c === 0x5c /* \ */ && i + 1 < n) { text += s[i + 1]; i += 2; continue; }
          if (c === 0x22) { closed = true; i++; break; }
          text += s[i];
          i++;
        }
        arg = closed ? text : null;
      } else {
        const vs = i;
        while (i < n && isTchar(s.charCodeAt(i))) i++;
        arg = i === vs ? null : s.slice(vs, i);
      }
    }
    while (i < n && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    if (i < n && s.charCodeAt(i) !== 0x2c) { arg = null; skipToComma(); }
    if (!out.has(name)) out.set(name, arg);
  }
  return out;
}

/** The largest delta-seconds a cache needs to represent (§1.2.2). */
export const MAX_DELTA_SECONDS = 2147483648;

/**
 * delta-seconds = 1*DIGIT (§1.2.2), in seconds; values beyond 2^31 are 2^31. Anything else
 * (a sign, a decimal point, letters, no argument) is invalid → undefined.
 */
export function parseDeltaSeconds(arg: string | true | null | undefined): number | undefined {
  if (typeof arg !== 'string' || !/^\d+$/.test(arg)) return undefined;
  const v = Number(arg);
  return v > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : v;
}

/** Field names listed in a qualified no-cache or private (§5.2.2.4, §5.2.2.7), lower-case. */
function fieldNames(arg: string): string[] {
  const out: string[] = [];
  for (const part of arg.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '') out.push(t);
  }
  return out;
}

/** The response directives a shared cache acts on (§5.2.2, RFC 5861). Lifetimes in seconds. */
export interface ResponseDirectives {
  /** §5.2.2.1; an invalid value makes the response stale (0), as §4.2.1 encourages. */
  readonly maxAge: number | undefined;
  /** §5.2.2.10; invalid → 0 (stale). */
  readonly sMaxAge: number | undefined;
  readonly noStore: boolean;
  /** Unqualified no-cache (§5.2.2.4): store, but validate before every reuse. */
  readonly noCache: boolean;
  /** Qualified no-cache="a, b": those fields are not reused without validation; we drop them from what is stored. */
  readonly noCacheFields: readonly string[];
  /** Unqualified private (§5.2.2.7): a shared cache must not store. */
  readonly private: boolean;
  /** Qualified private="a": a shared cache must not store those fields. */
  readonly privateFields: readonly string[];
  readonly public: boolean;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  readonly mustUnderstand: boolean;
  readonly immutable: boolean;
  /** RFC 5861 §3, seconds; invalid → ignored. */
  readonly staleWhileRevalidate: number | undefined;
  /** RFC 5861 §4, seconds; invalid → ignored. */
  readonly staleIfError: number | undefined;
}

/** Reads the response directives from parsed Cache-Control (or a targeted field) directives. */
export function responseDirectives(d: Directives): ResponseDirectives {
  const lifetime = (name: string): number | undefined => {
    if (!d.has(name)) return undefined;
    return parseDeltaSeconds(d.get(name)) ?? 0; // present but invalid → stale
  };
  const qualified = (name: string): { all: boolean; fields: string[] } => {
    if (!d.has(name)) return { all: false, fields: [] };
    const arg = d.get(name);
    // A malformed argument is read as the unqualified (more restrictive) form (§4.2.1).
    return typeof arg === 'string' ? { all: false, fields: fieldNames(arg) } : { all: true, fields: [] };
  };
  const noCache = qualified('no-cache');
  const priv = qualified('private');
  return {
    maxAge: lifetime('max-age'),
    sMaxAge: lifetime('s-maxage'),
    noStore: d.has('no-store'),
    noCache: noCache.all,
    noCacheFields: noCache.fields,
    private: priv.all,
    privateFields: priv.fields,
    public: d.has('public'),
    mustRevalidate: d.has('must-revalidate'),
    proxyRevalidate: d.has('proxy-revalidate'),
    mustUnderstand: d.has('must-understand'),
    immutable: d.has('immutable'),
    staleWhileRevalidate: parseDeltaSeconds(d.get('stale-while-revalidate')),
    staleIfError: parseDeltaSeconds(d.get('stale-if-error')),
  };
}

/** The request directives a cache honours (§5.2.1, RFC 5861 §4). Seconds. */
export interface RequestDirectives {
  /** §5.2.1.1: the client wants a response no older than this. */
  readonly maxAge: number | undefined;
  /** §5.2.1.2: stale by at most this much is acceptable; Infinity without an argument. */
  readonly maxStale: number | undefined;
  /** §5.2.1.3: the response must stay fresh at least this much longer. */
  readonly minFresh: number | undefined;
  /** §5.2.1.4: validate with the origin before using a stored response. */
  readonly noCache: boolean;
  /** §5.2.1.5: store nothing of this request or its response. */
  readonly noStore: boolean;
  /** §5.2.1.7: answer from storage or 504. */
  readonly onlyIfCached: boolean;
  /** RFC 5861 §4: stale by at most this much is acceptable when the origin fails. */
  readonly staleIfError: number | undefined;
}

export const NO_REQUEST_DIRECTIVES: RequestDirectives = Object.freeze({
  maxAge: undefined, maxStale: undefined, minFresh: undefined, noCache: false, noStore: false, onlyIfCached: false, staleIfError: undefined,
});

/**
 * The request's Cache-Control directives. Pragma is not read: RFC 9111 §5.4 deprecates it,
 * and at an edge it would let any client force origin fetches.
 */
export function requestDirectives(headers: HeaderMap): RequestDirectives {
  const value = headerValue(headers, 'cache-control');
  if (value === undefined) return NO_REQUEST_DIRECTIVES;
  const d = parseDirectives(value);
  if (d.size === 0) return NO_REQUEST_DIRECTIVES;
  const maxStaleArg = d.get('max-stale');
  return {
    maxAge: parseDeltaSeconds(d.get('max-age')),
    maxStale: maxStaleArg === undefined ? undefined : maxStaleArg === true ? Infinity : parseDeltaSeconds(maxStaleArg),
    minFresh: parseDeltaSeconds(d.get('min-fresh')),
    noCache: d.has('no-cache'),
    noStore: d.has('no-store'),
    onlyIfCached: d.has('only-if-cached'),
    staleIfError: parseDeltaSeconds(d.get('stale-if-error')),
  };
}
