// Range requests (RFC 9110 §14) for a representation of known length. Pure helpers: the
// caller decides when they apply (§14.2: GET only) and builds the 206 / 416.
import { parseETag, strongCompare } from './etag.js';
import type { Validators } from './conditional.js';
import { parseHttpDate } from './http-date.js';

/**
 * - none: send the full representation (no Range, not the bytes unit, invalid syntax —
 *   all ignored per §14.2 — or several ranges, see parseRange).
 * - range: send bytes start..end (inclusive) as a 206 with contentRange(start, end, length).
 * - unsatisfiable: send 416 with `Content-Range: unsatisfiedRange(length)` (§15.5.17).
 */
export type RangeResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const NONE: RangeResult = { kind: 'none' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };
const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

/**
 * Parses a Range field value (§14.1.2, §14.2) against a representation of `length` bytes.
 *
 * Several ranges (`bytes=0-9,20-29`) are answered with the full representation: ignoring
 * Range is always allowed (§14.2), it avoids multipart/byteranges, and it denies the
 * many-small-or-overlapping-ranges amplification of §14.1.1 without bookkeeping.
 *
 * A zero-length representation has no bytes to send in a 206: a suffix range, the only
 * satisfiable form there (§14.1.2), gets the full (empty) representation; others get 416.
 */
export function parseRange(value: string | undefined, length: number): RangeResult {
  if (value === undefined) return NONE;
  const eq = value.indexOf('=');
  if (eq < 0) return NONE;
  // range-unit is a case-insensitive token (§14.1); only "bytes" is understood.
  if (value.slice(0, eq).toLowerCase() !== 'bytes') return NONE;
  // range-set = 1#range-spec; empty list elements are allowed (§5.6.1).
  const specs = value.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0) return NONE;

  const parsed: { start: number; end: number }[] = [];
  let satisfiable = false;
  for (const spec of specs) {
    const int = INT_RANGE.exec(spec);
    if (int) {
      const first = Number(int[1]);
      const last = int[2] === '' ? Infinity : Number(int[2]);
      if (last < first) return NONE; // invalid int-range → whole field invalid (§14.1.2)
      if (first < length) {
        satisfiable = true;
        parsed.push({ start: first, end: Math.min(last, length - 1) });
      }
      continue;
    }
    const suffix = SUFFIX_RANGE.exec(spec);
    if (suffix) {
      const n = Number(suffix[1]);
      if (n > 0) {
        satisfiable = true;
        if (length > 0) parsed.push({ start: Math.max(0, length - n), end: length - 1 });
      }
      continue;
    }
    return NONE; // other-range or garbage: invalid for the bytes unit
  }
  if (!satisfiable) return UNSATISFIABLE;
  if (specs.length > 1) return NONE;
  const only = parsed[0];
  return only === undefined ? NONE : { kind: 'range', start: only.start, end: only.end };
}

/** Content-Range for a 206 (§14.4): `bytes 0-499/1234`. */
export function contentRange(start: number, end: number, length: number): string {
  return `bytes ${start}-${end}/${length}`;
}

/** Content-Range for a 416 (§14.4, §15.5.17): `bytes * /1234` without the space. */
export function unsatisfiedRange(length: number): string {
  return `bytes */${length}`;
}

/**
 * Evaluates If-Range (§13.1.5): true when the Range should be applied. Absent → true. An
 * entity-tag must match strongly (a weak tag never does); an HTTP-date must equal the
 * Last-Modified exactly, and only counts when Last-Modified is a strong validator — at
 * least one second before `now` (§8.8.2.2). Anything else → false (send the full response).
 */
export function evaluateIfRange(value: string | undefined, current: Validators, now: number = Date.now()): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/"')) {
    const sent = parseETag(v);
    const have = current.etag === undefined ? undefined : parseETag(current.etag);
    return sent !== undefined && have !== undefined && strongCompare(sent, have);
  }
  const date = parseHttpDate(v);
  if (date === undefined || current.lastModified === undefined) return false;
  const lm = Math.floor(current.lastModified / 1000) * 1000;
  return lm === date && now - lm >= 1000;
}
