// Maps a request-target onto path segments under the static root, refusing anything that
// could name a file outside it. Pure; the file system checks (realpath stays inside the
// real root) come after, in static-site.ts. Decoding happens exactly once, per segment,
// so an encoded "/" can never become a separator and "%252e" never becomes ".".

/**
 * - outside: the path is not under the prefix (the static site does not answer).
 * - bad: refused with 400 — invalid percent-encoding, dot-segments, backslashes, NUL and
 *   other control characters, encoded slashes, or an encoding left after decoding.
 * - hidden: a dotfile or dot-directory (.env, .git/), treated as absent.
 * - path: the decoded segments below the root; `directory` when the path ends with "/".
 */
export type StaticTarget =
  | { readonly kind: 'outside' }
  | { readonly kind: 'bad'; readonly reason: string }
  | { readonly kind: 'hidden' }
  | {
      readonly kind: 'path';
      readonly segments: readonly string[];
      readonly directory: boolean;
      /** The path as received (still encoded), for a redirect to `rawPath + '/'`. */
      readonly rawPath: string;
      /** The query including its "?", or "". */
      readonly query: string;
    };

// Raw request-target characters we accept: printable ASCII except backslash (RFC 3986
// allows neither controls nor "\"; non-ASCII must arrive percent-encoded).
const RAW_OK = /^[\x21-\x5b\x5d-\x7e]*$/;
// After decoding: no separator of any OS, no control character (NUL included).
const DECODED_BAD = /[/\\\x00-\x1f\x7f]/;
const LEFTOVER_ENCODING = /%[0-9a-f]{2}/i;

/** Served even though it starts with a dot: RFC 8615 well-known URIs (security.txt, ACME). */
const WELL_KNOWN = '.well-known';

/** Normalizes a configured prefix: "/static/" and "/static" both mean "/static". */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}

export function parseStaticTarget(target: string, prefix: string): StaticTarget {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (!rawPath.startsWith('/')) return { kind: 'outside' }; // absolute-form or "*"

  let rest: string;
  if (prefix === '/') rest = rawPath.slice(1);
  else if (rawPath === prefix) rest = '';
  else if (rawPath.startsWith(`${prefix}/`)) rest = rawPath.slice(prefix.length + 1);
  else return { kind: 'outside' };

  if (!RAW_OK.test(rawPath)) return { kind: 'bad', reason: 'control character, space, backslash or raw non-ASCII byte in the path' };
  // "/static" names the root directory without its slash: redirected to "/static/" like any directory.
  if (rawPath === prefix && prefix !== '/') return { kind: 'path', segments: [], directory: false, rawPath, query };

  const raw = rest.split('/');
  const directory = rest === '' || rest.endsWith('/');
  if (directory) raw.pop();
  const segments: string[] = [];
  let hidden = false;
  for (const [i, r] of raw.entries()) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return { kind: 'bad', reason: 'invalid percent-encoding in the path' };
    }
    if (s === '.' || s === '..') return { kind: 'bad', reason: 'dot-segment in the path' };
    if (DECODED_BAD.test(s)) return { kind: 'bad', reason: 'encoded separator or control character in the path' };
    if (LEFTOVER_ENCODING.test(s)) return { kind: 'bad', reason: 'double percent-encoding in the path' };
    // "//" names nothing; refusing it also keeps a redirect from ever being "//host/".
    if (s === '') return { kind: 'hidden' };
    if (s.startsWith('.') && !(i === 0 && s === WELL_KNOWN)) hidden = true;
    segments.push(s);
  }
  // Checked after every segment so a later "%2e%2e" is still a 400, not a quiet 404.
  if (hidden) return { kind: 'hidden' };
  return { kind: 'path', segments, directory, rawPath, query };
}
