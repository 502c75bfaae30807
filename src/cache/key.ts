// The cache key. Getting this wrong leads to cache poisoning: two requests that the origin
// may answer differently must never share a key, and nothing the key leaves out may change
// what the origin sends for it.
//
// Primary key (RFC 9111 §2: "the request method and target URI"; only GET is stored, so the
// method is implicit):
//
//     scheme "://" host [":" port] request-target          https://example.com/a/b?x=1
//
// What is normalised, and why it is safe:
//   - scheme: lower-cased ('https' | 'http'). It stays in the key: the origin may answer
//     http with a redirect to https, and serving that to an https client loops forever.
//   - host: lower-cased (host names are case-insensitive, RFC 3986 §3.2.2); a default port
//     (:443 for https, :80 for http) is dropped and any other port written in plain decimal
//     (RFC 3986 §6.2.3). Host is in the key because the pipeline picks the origin — and the
//     Host it forwards — from it.
//
// What is deliberately NOT normalised, and why:
//   - The path and query are used exactly as received, byte for byte: no percent-decoding,
//     no %2f/%2F case folding, no dot-segment removal, no query-parameter sorting, no
//     dropping of an empty "?". The origin receives the target unchanged, and an origin is
//     free to treat any of those spellings differently (many do: "/a/../b", "%2F" in paths,
//     "?a=1&a=2" ordering). A key that merged two spellings the origin distinguishes would
//     let one of them poison the other. The price is only fragmentation (two keys for what
//     turns out to be one resource), which is harmless.
//   - A trailing dot on the host ("example.com.") is kept: it is a different Host value to
//     the origin's virtual hosting, so it may select a different site.
//   - Only origin-form targets (starting with "/") are cacheable; absolute-form and "*" are
//     not looked up (see isCacheableTarget).
//
// Request headers are not part of the primary key. The secondary key (vary.ts) adds the
// header fields a stored response names in Vary, and nothing else. Headers that can change
// what the origin sends without being named in Vary — X-Forwarded-Host and friends, the
// classic poisoning vector — are stripped from every request the cache sends for a key
// (UNKEYED_REQUEST_HEADERS), so they cannot change what is stored for it; the pipeline sets
// its own trusted forwarding headers after that, from values the key already covers.

/** Default ports dropped from the authority (RFC 9110 §4.2.1, §4.2.2). */
const DEFAULT_PORT: Readonly<Record<string, string>> = { https: '443', http: '80' };

/**
 * The normalised authority: lower-case host, default port removed, other ports in plain
 * decimal. IPv6 literals keep their brackets.
 */
export function normaliseAuthority(scheme: string, host: string): string {
  const h = host.toLowerCase();
  // The port is after the last ':' unless that colon is inside an IPv6 literal "[...]".
  const colon = h.lastIndexOf(':');
  if (colon < 0 || colon < h.lastIndexOf(']')) return h;
  const port = h.slice(colon + 1);
  const name = h.slice(0, colon);
  if (port === '') return name; // "example.com:" — an empty port is the default (RFC 3986 §3.2.3)
  if (!/^\d+$/.test(port)) return h; // not a port: leave it as received (it cannot collide)
  const decimal = String(Number(port));
  return decimal === DEFAULT_PORT[scheme.toLowerCase()] ? name : `${name}:${decimal}`;
}

/** The primary cache key for a request: see the comment at the top of this file. */
export function cacheKey(scheme: string, host: string, target: string): string {
  return `${keyOrigin(scheme, host)}${target}`;
}

/** The part of the key before the target: "scheme://authority". */
export function keyOrigin(scheme: string, host: string): string {
  const s = scheme.toLowerCase();
  return `${s}://${normaliseAuthority(s, host)}`;
}

/** Only origin-form targets ("/path?query") are looked up and stored. */
export function isCacheableTarget(target: string): boolean {
  return target.charCodeAt(0) === 47; /* '/' */
}

/**
 * A purge prefix "scheme://host[:port]/path-prefix" in key form, or undefined when it is not
 * one. Without a path the whole host is meant ("https://a.example" → "https://a.example/"),
 * which also keeps "https://a.example" from matching "https://a.example.org/…".
 */
export function keyPrefix(prefix: string): string | undefined {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(prefix);
  if (!m) return undefined;
  const [, scheme = '', host = '', rest = ''] = m;
  return cacheKey(scheme, host, rest === '' ? '/' : rest);
}

/**
 * Request headers that are never sent to the origin for a cacheable request: they are not
 * part of the key, and origins commonly build URLs, redirects or links from them, so a
 * client could otherwise get a response built from its own value stored for everyone.
 * The pipeline's origin fetch adds its own values of the forwarding headers after this.
 */
export const UNKEYED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-host', 'x-forwarded-server', 'x-forwarded-proto', 'x-forwarded-scheme',
  'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-ssl', 'x-host', 'x-original-host',
  'x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method',
  'x-method-override', 'forwarded', 'front-end-https',
]);
