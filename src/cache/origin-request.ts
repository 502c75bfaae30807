// What the cache sends to the origin for a cacheable request (RFC 9111 §4, §4.3.1).
import type { HeaderMap } from '../http/headers.js';
import { UNKEYED_REQUEST_HEADERS } from './key.js';
import { HOP_BY_HOP } from './stored-headers.js';

type InHeaders = Record<string, string | string[] | undefined>;

/**
 * Request fields the cache evaluates itself against the complete representation, and so
 * never forwards on a cacheable fetch (RFC 9110 §13, §14): the answer the origin gives to
 * them would be specific to one client and could not be shared.
 */
export const CLIENT_CONDITIONALS: readonly string[] = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

/** The validators of a stored response, as sent in a conditional request. */
export interface SentValidators {
  /** The stored ETag field value. */
  etag: string | undefined;
  /** The stored Last-Modified field value. */
  lastModified: string | undefined;
}

/**
 * The request fields sent for a cacheable GET: without h2 pseudo-fields, hop-by-hop fields,
 * the unkeyed forwarding fields (key.ts) and the client's conditionals and Range; plus the
 * cache's own validators when it validates a stored response (§4.3.1: the entity-tag as
 * If-None-Match, and Last-Modified as If-Modified-Since). Vary-selecting fields are the
 * client's own and so are sent as received (§4.3.1).
 */
export function originRequestHeaders(h: HeaderMap, validators: SentValidators | undefined): InHeaders {
  const out: InHeaders = {};
  for (const name in h) {
    const v = h[name];
    if (v === undefined || name.charCodeAt(0) === 58 /* : */) continue;
    if (HOP_BY_HOP.has(name) || UNKEYED_REQUEST_HEADERS.has(name) || CLIENT_CONDITIONALS.includes(name)) continue;
    out[name] = v;
  }
  if (validators !== undefined) {
    if (validators.etag !== undefined) out['if-none-match'] = quoteETag(validators.etag);
    if (validators.lastModified !== undefined) out['if-modified-since'] = validators.lastModified;
  }
  return out;
}

/** Request fields as received, without h2 pseudo-fields: for requests the cache only forwards. */
export function withoutPseudo(h: HeaderMap): InHeaders {
  const out: InHeaders = {};
  for (const name in h) if (name.charCodeAt(0) !== 58) out[name] = h[name];
  return out;
}

/** Like withoutPseudo, also without hop-by-hop and unkeyed forwarding fields (the client's Range and conditionals are kept). */
export function forwardedAsIs(h: HeaderMap): InHeaders {
  const out: InHeaders = {};
  for (const name in h) {
    if (name.charCodeAt(0) === 58 || UNKEYED_REQUEST_HEADERS.has(name) || HOP_BY_HOP.has(name)) continue;
    out[name] = h[name];
  }
  return out;
}

/**
 * An entity-tag as sent in If-None-Match: a bare `abc` (invalid, but origins send them)
 * becomes `"abc"` so that the origin can match it; anything else is sent as stored.
 */
export function quoteETag(etag: string): string {
  const t = etag.trim();
  if (t.startsWith('"') || t.startsWith('W/"')) return t;
  return /^[\x21\x23-\x7e\x80-\xff]+$/.test(t) ? `"${t}"` : t;
}
