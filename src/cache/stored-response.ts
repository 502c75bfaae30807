// A stored response and everything about it that can be computed once, when it is stored
// or freshened, so that a hit only looks numbers up (RFC 9111 §4.2, §4.3.4, §4.3.5).
import type { HeaderMap } from '../http/headers.js';
import { parseETag } from '../http/etag.js';
import { correctedInitialAge, parseAge } from './age.js';
import { dateField, freshnessLifetime, type HeuristicConfig } from './freshness.js';
import { reuseFlags } from './storability.js';
import { withoutContentFields } from './ranged-response.js';
import { headerBytes, storedHeaders, updatedHeaders, type OutHeaders } from './stored-headers.js';
import { surrogateKeys } from './surrogate-keys.js';
import { effectiveDirectives, type EffectiveDirectives } from './targeted-cache-control.js';
import { parseVary, type VarySpec } from './vary.js';

/** Fixed per-object bytes for the object itself and its index entries (an estimate). */
const OBJECT_OVERHEAD = 512;

export interface StoredResponse {
  /** LRU key: the primary key, plus "\0" and the secondary key when the response varies. */
  readonly key: string;
  readonly primary: string;
  readonly status: number;
  /** Fields sent with every use, without Age (added per use). Never mutated: copied per response. */
  readonly headers: OutHeaders;
  readonly body: Buffer;
  /** CDN-Cache-Control / Surrogate-Control as received: not sent, but needed when the policy is recomputed. */
  readonly targeted: OutHeaders;
  readonly responseTime: number;
  /** §4.2.3 corrected_initial_age, ms. */
  readonly correctedInitialAge: number;
  /** §4.2.1 freshness lifetime, ms. */
  readonly lifetime: number;
  readonly noCache: boolean;
  readonly noStale: boolean;
  readonly authShareable: boolean;
  /** RFC 8246: will not change while fresh. */
  readonly immutable: boolean;
  /** RFC 5861 windows, ms. */
  readonly staleWhileRevalidate: number | undefined;
  readonly staleIfError: number | undefined;
  readonly etag: string | undefined;
  /** Last-Modified, ms. */
  readonly lastModified: number | undefined;
  /** Date, ms (the stand-in for Last-Modified in If-Modified-Since, RFC 9111 §4.3.2). */
  readonly date: number | undefined;
  readonly varyNames: readonly string[] | undefined;
  readonly tags: readonly string[];
  /** Bytes counted against cache.maxSize: body, fields and metadata. */
  readonly size: number;
  /** Soft purge: treat as stale and validate on next use. */
  invalidated: boolean;
  /** Fields of a 304 built from this response (computed on first use). */
  notModifiedHeaders: OutHeaders | undefined;
}

/** The storage-relevant reading of a response (everything but the body). */
export interface ResponsePolicy {
  readonly effective: EffectiveDirectives;
  readonly lifetime: number;
  readonly hasExpires: boolean;
  readonly correctedInitialAge: number;
  readonly date: number | undefined;
  readonly vary: VarySpec;
  /** When the response arrived (§4.2.3 response_time), ms. */
  readonly responseTime: number;
}

export interface Timing {
  /** When the request to the origin was sent, ms. */
  requestTime: number;
  /** When its response headers arrived, ms. */
  responseTime: number;
}

/** Reads directives, freshness and age of a response (§4.2.1, §4.2.3, §4.1). */
export function analyseResponse(status: number, headers: HeaderMap, timing: Timing, cfg: HeuristicConfig): ResponsePolicy {
  const effective = effectiveDirectives(headers);
  const rawDate = dateField(headers, 'date');
  const date = rawDate === undefined || Number.isNaN(rawDate) ? undefined : rawDate;
  const f = freshnessLifetime({ status, directives: effective.directives, useExpires: effective.useExpires, headers, date, responseTime: timing.responseTime }, cfg);
  return {
    effective,
    lifetime: f.lifetime,
    hasExpires: effective.useExpires && headers['expires'] !== undefined,
    correctedInitialAge: correctedInitialAge({ ageValue: parseAge(headers), dateValue: date, requestTime: timing.requestTime, responseTime: timing.responseTime }),
    date,
    vary: parseVary(headers['vary']),
    responseTime: timing.responseTime,
  };
}

function pick(headers: HeaderMap, names: readonly string[]): OutHeaders {
  const out: OutHeaders = {};
  for (const n of names) {
    const v = headers[n];
    if (v !== undefined) out[n] = v;
  }
  return out;
}

const TARGETED_FIELDS = ['cdn-cache-control', 'surrogate-control'] as const;

function first(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

export interface NewStoredResponse {
  primary: string;
  /** The secondary key, when the response varies (policy.vary.kind === 'names'). */
  secondary: string | undefined;
  status: number;
  /** Response fields as received from the origin. */
  headers: HeaderMap;
  body: Buffer;
  policy: ResponsePolicy;
  timing: Timing;
  storeSetCookie: boolean;
}

/** Builds the object to store; all per-use work that can be done now is done now. */
export function createStoredResponse(n: NewStoredResponse): StoredResponse {
  const d = n.policy.effective.directives;
  const headers = storedHeaders(n.headers, { omit: [...d.noCacheFields, ...d.privateFields], storeSetCookie: n.storeSetCookie }, n.timing.responseTime);
  // The stored content's length, whatever framing it arrived with.
  if (n.status !== 204 && n.status !== 304) headers['content-length'] = String(n.body.length);
  const key = n.secondary === undefined ? n.primary : `${n.primary}\u0000${n.secondary}`;
  return build(key, n.primary, n.status, headers, n.body, pick(n.headers, TARGETED_FIELDS), surrogateKeys(n.headers), n.policy);
}

function build(
  key: string, primary: string, status: number, headers: OutHeaders, body: Buffer,
  targeted: OutHeaders, tags: readonly string[], policy: ResponsePolicy,
): StoredResponse {
  const d = policy.effective.directives;
  const flags = reuseFlags(d);
  const lastModified = dateField(headers, 'last-modified');
  let tagBytes = 0;
  for (const t of tags) tagBytes += t.length + 48;
  return {
    key,
    primary,
    status,
    headers,
    body,
    targeted,
    responseTime: policy.responseTime,
    correctedInitialAge: policy.correctedInitialAge,
    lifetime: policy.lifetime,
    noCache: d.noCache,
    noStale: flags.noStale,
    authShareable: flags.authShareable,
    immutable: d.immutable,
    staleWhileRevalidate: d.staleWhileRevalidate === undefined ? undefined : d.staleWhileRevalidate * 1000,
    staleIfError: d.staleIfError === undefined ? undefined : d.staleIfError * 1000,
    etag: first(headers['etag']),
    lastModified: lastModified === undefined || Number.isNaN(lastModified) ? undefined : lastModified,
    date: policy.date,
    varyNames: policy.vary.kind === 'names' ? policy.vary.names : undefined,
    tags,
    size: body.length + headerBytes(headers) + headerBytes(targeted) + key.length * 3 + tagBytes + OBJECT_OVERHEAD,
    invalidated: false,
    notModifiedHeaders: undefined,
  };
}

/** Fields of a 304 from this stored response: those of a 200 except content metadata (RFC 9110 §15.4.5). */
export function notModifiedHeaders(entry: StoredResponse): OutHeaders {
  entry.notModifiedHeaders ??= withoutContentFields(entry.headers);
  return entry.notModifiedHeaders;
}

/**
 * Whether a 304 (RFC 9111 §4.3.4) or a HEAD response (§4.3.5) describes this stored
 * response, so that its fields may update it:
 * - an entity-tag in the new response must be the stored one (same opaque-tag);
 * - else a Last-Modified in the new response must equal the stored one;
 * - for HEAD, a Content-Length must also equal the stored content's length.
 */
export function describesStored(entry: StoredResponse, received: HeaderMap, kind: '304' | 'head'): boolean {
  const etag = first(received['etag']);
  if (etag !== undefined) {
    if (entry.etag === undefined) return false;
    const a = parseETag(etag);
    const b = parseETag(entry.etag);
    if (a === undefined || b === undefined ? etag.trim() !== entry.etag.trim() : a.tag !== b.tag) return false;
  } else if (kind === '304' || entry.etag === undefined) {
    const lm = dateField(received, 'last-modified');
    if (lm !== undefined && lm !== entry.lastModified) return false;
  } else {
    return false; // HEAD without the stored entity-tag: it may be another representation
  }
  if (kind === 'head') {
    const cl = first(received['content-length']);
    if (cl !== undefined && Number(cl) !== entry.body.length) return false;
  }
  return true;
}

export interface Freshened {
  entry: StoredResponse;
  /** The updated response is still storable (a 304 may add no-store or private). */
  storable: boolean;
}

/**
 * The stored response updated from a 304 or HEAD response (§4.3.4, §4.3.5, fields per
 * §3.2): new fields, new Date/Age-based timing, freshness recomputed from the merged fields.
 * Returns a new object; the old one stays valid for responses already being sent.
 */
export function freshen(entry: StoredResponse, received: HeaderMap, timing: Timing, cfg: HeuristicConfig & { storeSetCookie: boolean }): Freshened {
  const targeted: OutHeaders = { ...entry.targeted, ...pick(received, TARGETED_FIELDS) };
  // The policy is read from the merged fields; the first pass only learns the omit lists.
  const merged0 = updatedHeaders(entry.headers, received, { omit: [], storeSetCookie: true }, timing.responseTime);
  const view: Record<string, string | string[] | undefined> = { ...merged0, ...targeted, age: received['age'] };
  const policy = analyseResponse(entry.status, view, timing, cfg);
  const d = policy.effective.directives;
  const headers = updatedHeaders(entry.headers, received, { omit: [...d.noCacheFields, ...d.privateFields], storeSetCookie: cfg.storeSetCookie }, timing.responseTime);
  const newTags = received['surrogate-key'] !== undefined || received['cache-tag'] !== undefined ? surrogateKeys(received) : entry.tags;
  const updated = build(entry.key, entry.primary, entry.status, headers, entry.body, targeted, newTags, policy);
  // A Set-Cookie on a 304 is passed to that client but not stored (storedHeaders), so it does
  // not make the stored response unstorable.
  const storable = !d.private && (!d.noStore || d.mustUnderstand) && policy.vary.kind !== 'star';
  return { entry: updated, storable };
}
