// Conditional requests (RFC 9110 §13): evaluate a request's preconditions against the
// validators of the selected representation, in the order of §13.2.2. Pure: the caller
// decides which requests get here (§13.2.1: only when the unconditional answer would be
// 2xx or 412) and builds the 304 / 412 itself.
import { parseETag, parseETagList, strongCompare, weakCompare } from './etag.js';
import type { EntityTag } from './etag.js';
import { headerLineCount, headerValue } from './headers.js';
import type { HeaderMap } from './headers.js';
import { parseHttpDate } from './http-date.js';

export { formatETag, parseETag, parseETagList, strongCompare, weakCompare } from './etag.js';
export type { EntityTag } from './etag.js';
export { formatHttpDate, parseHttpDate } from './http-date.js';

/** Validators of the selected representation, as it would be sent in a 200. */
export interface Validators {
  /** The ETag field value (`"abc"` or `W/"abc"`), if the representation has one. */
  etag?: string | undefined;
  /** Last modification time in ms since the epoch; compared at one-second resolution. */
  lastModified?: number | undefined;
}

/** 'not-modified' → 304, 'precondition-failed' → 412, 'proceed' → the normal response. */
export type PreconditionResult = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order
 * of RFC 9110 §13.2.2 (If-Range belongs to range handling: see range.ts). A header that is
 * absent or that §13.1 says to ignore does not take part.
 */
export function evaluatePreconditions(method: string, headers: HeaderMap, current: Validators): PreconditionResult {
  const getOrHead = method === 'GET' || method === 'HEAD';
  const etag = current.etag === undefined ? undefined : parseETag(current.etag);
  const lastModified = current.lastModified === undefined ? undefined : Math.floor(current.lastModified / 1000) * 1000;

  // Step 1: If-Match (§13.1.1), strong comparison.
  const ifMatch = headerValue(headers, 'if-match');
  if (ifMatch !== undefined) {
    if (!listMatches(parseETagList(ifMatch), etag, strongCompare)) return 'precondition-failed';
  } else {
    // Step 2: If-Unmodified-Since (§13.1.4), only without If-Match; ignored when not a
    // single valid date or when there is no modification date.
    const ius = singleDate(headers, 'if-unmodified-since');
    if (ius !== undefined && lastModified !== undefined && lastModified > ius) return 'precondition-failed';
  }

  // Step 3: If-None-Match (§13.1.2), weak comparison.
  const ifNoneMatch = headerValue(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (listMatches(parseETagList(ifNoneMatch), etag, weakCompare)) return getOrHead ? 'not-modified' : 'precondition-failed';
  } else if (getOrHead) {
    // Step 4: If-Modified-Since (§13.1.3), only for GET/HEAD and only without If-None-Match.
    const ims = singleDate(headers, 'if-modified-since');
    if (ims !== undefined && lastModified !== undefined && lastModified <= ims) return 'not-modified';
  }
  return 'proceed';
}

/** `*` matches any current representation (§13.1.1, §13.1.2); a malformed list matches nothing. */
function listMatches(
  list: '*' | EntityTag[] | undefined,
  current: EntityTag | undefined,
  compare: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  if (list === '*') return true;
  if (list === undefined || current === undefined) return false;
  return list.some((t) => compare(t, current));
}

/** A date field sent once with a valid HTTP-date, else undefined (= ignore, §13.1.3, §13.1.4). */
function singleDate(headers: HeaderMap, name: string): number | undefined {
  if (headerLineCount(headers, name) !== 1) return undefined;
  const v = headerValue(headers, name);
  return v === undefined ? undefined : parseHttpDate(v);
}
