// Answers built from a complete response for a client's Range or conditional request
// (RFC 9110 §14, §15.4.5), using the parsers in src/http.
import type { Validators } from '../http/conditional.js';
import { contentRange, evaluateIfRange, parseRange, unsatisfiedRange } from '../http/range.js';
import type { OutHeaders } from './stored-headers.js';

type InHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface PartialAnswer {
  status: number;
  headers: OutHeaders;
  body: Buffer | null;
}

/**
 * A single Range over a complete body (RFC 9110 §14.2): 206 with Content-Range and the
 * slice, 416 when unsatisfiable (§15.5.17), or undefined to send the whole body (no, invalid
 * or several ranges; an If-Range that does not match, §13.1.5).
 */
export function applyRange(body: Buffer, headers: OutHeaders, reqHeaders: InHeaders, validators: Validators, now: number): PartialAnswer | undefined {
  const raw = reqHeaders['range'];
  const r = parseRange(typeof raw === 'string' ? raw : raw?.join(','), body.length);
  if (r.kind === 'none') return undefined;
  const ifRange = reqHeaders['if-range'];
  if (!evaluateIfRange(typeof ifRange === 'string' ? ifRange : ifRange?.[0], validators, now)) return undefined;
  if (r.kind === 'unsatisfiable') {
    // Nothing from the stored response: its freshness fields would let a downstream cache keep the 416.
    return { status: 416, headers: { 'content-range': unsatisfiedRange(body.length), 'content-length': '0', date: new Date(now).toUTCString() }, body: null };
  }
  return {
    status: 206,
    headers: { ...headers, 'content-range': contentRange(r.start, r.end, body.length), 'content-length': String(r.end - r.start + 1) },
    body: body.subarray(r.start, r.end + 1),
  };
}

/**
 * The fields of a 304 built from a 200's (RFC 9110 §15.4.5): all but content metadata
 * (Content-Location stays), so a client updating its stored response keeps its own.
 */
export function withoutContentFields(h: OutHeaders): OutHeaders {
  const out: OutHeaders = {};
  for (const name in h) {
    if (name.startsWith('content-') && name !== 'content-location') continue;
    const v = h[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
