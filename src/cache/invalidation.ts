// Invalidation after unsafe requests (RFC 9111 §4.4).
import type { HeaderMap } from '../http/headers.js';
import { cacheKey, normaliseAuthority } from './key.js';

/** Safe methods (RFC 9110 §9.2.1): they cannot change the resource, so never invalidate. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

export interface UnsafeRequest {
  method: string;
  scheme: string;
  host: string;
  target: string;
}

/**
 * The primary keys to invalidate after a response to `req` (§4.4): the target URI, and the
 * URIs in Location and Content-Location (resolved against the target URI) when their host
 * is the target's — §4.4 forbids other hosts, or one site could purge another's objects.
 * Only for unsafe methods and a non-error status (2xx or 3xx, "non-error" in §4.4).
 *
 * Location and Content-Location are compared after URL parsing, which normalises their
 * path (dot segments, percent-encoding of a few characters); a client that requests the
 * same resource with a spelling the parser rewrites is not invalidated through them.
 * Best effort by nature: §4.4 itself says invalidation cannot be guaranteed.
 */
export function invalidationKeys(req: UnsafeRequest, status: number, headers: HeaderMap): string[] {
  if (isSafeMethod(req.method)) return [];
  if (status < 200 || status >= 400) return [];
  const scheme = req.scheme.toLowerCase();
  const authority = normaliseAuthority(scheme, req.host);
  const keys = [cacheKey(scheme, req.host, req.target)];
  let base: URL | undefined;
  for (const name of ['location', 'content-location']) {
    const raw = headers[name];
    const v = typeof raw === 'string' ? raw : raw?.[0];
    if (v === undefined || v.trim() === '') continue;
    try {
      base ??= new URL(`${scheme}://${authority}${req.target}`);
      const u = new URL(v.trim(), base);
      const uScheme = u.protocol.slice(0, -1);
      if (uScheme !== 'http' && uScheme !== 'https') continue;
      if (normaliseAuthority(uScheme, u.host) !== authority) continue;
      const key = cacheKey(uScheme, u.host, `${u.pathname}${u.search}`);
      if (!keys.includes(key)) keys.push(key);
    } catch {
      // An unparsable URI reference names nothing we could have stored.
    }
  }
  return keys;
}
