// A stored response and everything about it that can be computed once, when it is stored
// or freshened, so that a hit only looks numbers up (RFC 9111 §4.2, §4.3.4, §4.3.5).
import type { HeaderMap } from '../http/headers.js';
import { parseETag } from '../http/etag.js';
import { correctedInitialAge, parseAge } from './age.js';
import { dateField, freshnessLifetime, type HeuristicConfig } from './freshness.js';
import { reuseFlags } from './storability.js';
import { withoutContentFields } from './ranged-response.js';
import { Slab, type BodyArena } from './body-arena.js';
import { headerBytes, storedHeaders, updatedHeaders, type OutHeaders } from './stored-headers.js';
import { flatString, internValue } from './interned.js';
import type { ReuseState } from './reuse.js';
import { surrogateKeys } from './surrogate-keys.js';
import { effectiveDirectives, type EffectiveDirectives } from './targeted-cache-control.js';
import { parseVary, type VarySpec } from './vary.js';

/**
 * Per-object bytes besides the body, the fields (headerBytes) and the key (counted three
 * times: LRU, primary, indexes): the object below (~144 B), its LRU node and Map entry
 * (~100 B), boxed timestamps (16 B each). ~270 B measured with a heap snapshot of 20 000
 * stored 1 KiB responses; rounded up. Header values are counted in full although common
 * ones are shared (interned.ts), so the total errs high: ~1 700 B counted for a 1 KiB
 * response that costs ~1 420 B of heap and external memory.
 */
const OBJECT_OVERHEAD = 320;

/** Bits of StoredResponse.#bits above the status code (10 bits). */
const NO_CACHE = 1 << 10;
const NO_STALE = 1 << 11;
const AUTH_SHAREABLE = 1 << 12;
const IMMUTABLE = 1 << 13;
const INVALIDATED = 1 << 14;
/** The body is in a slab of the store's arena and counted there as stored. */
const IN_ARENA = 1 << 15;

const NO_FIELDS: OutHeaders = Object.freeze({}) as OutHeaders;
const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_BODY = Buffer.alloc(0);

/** The parts most responses do not have, out of line so that the common object stays small. */
interface Rare {
  readonly targeted: OutHeaders;
  readonly tags: readonly string[];
  readonly varyNames: readonly string[] | undefined;
  readonly staleWhileRevalidate: number | undefined;
  readonly staleIfError: number | undefined;
}

/**
 * A stored response and everything about it a hit needs, precomputed. Compact because a
 * cache holds many of them: flags and status share one number, rare parts share one
 * optional object, and once stored a small body is an offset into a shared slab
 * (body-arena.ts) rather than a Buffer of its own. Immutable but for `invalidated` and
 * where its body lives (which only the store changes).
 */
export class StoredResponse implements ReuseState {
  /** LRU key: the primary key, plus "\0" and the secondary key when the response varies. */
  readonly key: string;
  readonly primary: string;
  /** Fields sent with every use, without Age (added per use). Never mutated: copied per response. */
  readonly headers: OutHeaders;
  readonly responseTime: number;
  /** §4.2.3 corrected_initial_age, ms. */
  readonly correctedInitialAge: number;
  /** §4.2.1 freshness lifetime, ms. */
  readonly lifetime: number;
  readonly etag: string | undefined;
  /** Last-Modified, ms. */
  readonly lastModified: number | undefined;
  /** Date, ms (the stand-in for Last-Modified in If-Modified-Since, RFC 9111 §4.3.2). */
  readonly date: number | undefined;
  /** Bytes counted against cache.maxSize: body, fields and metadata. */
  readonly size: number;
  /** Status code, flags and IN_ARENA. */
  #bits: number;
  #rare: Rare | undefined;
  /** The body: a Buffer, or the slab holding it at #offset. */
  #data: Buffer | Slab;
  #offset = 0;
  readonly #length: number;

  constructor(key: string, primary: string, status: number, headers: OutHeaders, body: Buffer, policy: ResponsePolicy, targeted: OutHeaders, tags: readonly string[]) {
    const d = policy.effective.directives;
    const flags = reuseFlags(d);
    const lastModified = dateField(headers, 'last-modified');
    const varyNames = policy.vary.kind === 'names' ? policy.vary.names : undefined;
    this.key = key;
    this.primary = primary;
    this.headers = headers;
    this.responseTime = policy.responseTime;
    this.correctedInitialAge = policy.correctedInitialAge;
    this.lifetime = policy.lifetime;
    this.etag = first(headers['etag']);
    this.lastModified = lastModified === undefined || Number.isNaN(lastModified) ? undefined : lastModified;
    this.date = policy.date;
    let tagBytes = 0;
    for (const t of tags) tagBytes += t.length + 48;
    this.size = body.length + headerBytes(headers) + headerBytes(targeted) + key.length * 3 + tagBytes + OBJECT_OVERHEAD;
    this.#bits = status | (d.noCache ? NO_CACHE : 0) | (flags.noStale ? NO_STALE : 0) | (flags.authShareable ? AUTH_SHAREABLE : 0) | (d.immutable ? IMMUTABLE : 0);
    const swr = d.staleWhileRevalidate === undefined ? undefined : d.staleWhileRevalidate * 1000;
    const sie = d.staleIfError === undefined ? undefined : d.staleIfError * 1000;
    this.#rare = targeted === NO_FIELDS && tags.length === 0 && varyNames === undefined && swr === undefined && sie === undefined
      ? undefined
      : { targeted, tags, varyNames, staleWhileRevalidate: swr, staleIfError: sie };
    this.#data = body.length === 0 ? NO_BODY : body;
    this.#length = body.length;
  }

  get status(): number { return this.#bits & 0x3ff; }
  get noCache(): boolean { return (this.#bits & NO_CACHE) !== 0; }
  get noStale(): boolean { return (this.#bits & NO_STALE) !== 0; }
  get authShareable(): boolean { return (this.#bits & AUTH_SHAREABLE) !== 0; }
  /** RFC 8246: will not change while fresh. */
  get immutable(): boolean { return (this.#bits & IMMUTABLE) !== 0; }
  /** Soft purge: treat as stale and validate on next use. */
  get invalidated(): boolean { return (this.#bits & INVALIDATED) !== 0; }
  set invalidated(v: boolean) { this.#bits = v ? this.#bits | INVALIDATED : this.#bits & ~INVALIDATED; }
  /** CDN-Cache-Control / Surrogate-Control as received: not sent, but needed when the policy is recomputed. */
  get targeted(): OutHeaders { return this.#rare?.targeted ?? NO_FIELDS; }
  get tags(): readonly string[] { return this.#rare?.tags ?? NO_TAGS; }
  get varyNames(): readonly string[] | undefined { return this.#rare?.varyNames; }
  /** RFC 5861 windows, ms. */
  get staleWhileRevalidate(): number | undefined { return this.#rare?.staleWhileRevalidate; }
  get staleIfError(): number | undefined { return this.#rare?.staleIfError; }

  /** The content. Read-only; for a body in a slab, a new view of it per call. */
  get body(): Buffer {
    const d = this.#data;
    return d instanceof Slab ? Buffer.from(d.buf.buffer, d.buf.byteOffset + this.#offset, this.#length) : d;
  }

  get bodyLength(): number {
    return this.#length;
  }

  /** The store's: the slab holding the body, while the body counts as stored there. */
  get slab(): Slab | undefined {
    return (this.#bits & IN_ARENA) !== 0 ? (this.#data as Slab) : undefined;
  }

  /**
   * The store's, when it stores this object: a small body is copied into the arena; any other
   * body that is a view into a larger allocation (a socket read, Node's Buffer pool) is copied
   * into memory of its own, so that the object retains what its size says. No-op when the body
   * already counts as stored in the arena.
   */
  adoptBody(arena: BodyArena): void {
    if ((this.#bits & IN_ARENA) !== 0 || this.#length === 0) return;
    const body = this.body;
    if (this.#length <= arena.maxPacked) {
      const slab = arena.copyIn(body);
      this.#data = slab;
      this.#offset = slab.used - this.#length;
      this.#bits |= IN_ARENA;
    } else if (body.byteOffset !== 0 || body.byteLength !== body.buffer.byteLength) {
      const own = Buffer.allocUnsafeSlow(this.#length);
      body.copy(own);
      this.#data = own;
    }
  }

  /**
   * The store's, when this object leaves it: its slab bytes no longer count as stored. They
   * stay readable (slabs are never overwritten) for responses still being sent.
   */
  releaseBody(arena: BodyArena): void {
    if ((this.#bits & IN_ARENA) === 0) return;
    this.#bits &= ~IN_ARENA;
    arena.release(this.#data as Slab, this.#length);
  }
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

/** The named fields, or the shared empty object when there are none. */
function pick(headers: HeaderMap, names: readonly string[]): OutHeaders {
  let out: OutHeaders | undefined;
  for (const n of names) {
    const v = headers[n];
    if (v !== undefined) (out ??= {})[n] = v;
  }
  return out ?? NO_FIELDS;
}

/** Tags as flat strings (a split keeps its whole field line alive), or the shared empty list. */
function compactTags(tags: readonly string[]): readonly string[] {
  return tags.length === 0 ? NO_TAGS : tags.map(flatString);
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
  if (n.status !== 204 && n.status !== 304) headers['content-length'] = internValue(String(n.body.length));
  const primary = flatString(n.primary);
  const key = n.secondary === undefined ? primary : flatString(`${primary}\u0000${n.secondary}`);
  return new StoredResponse(key, primary, n.status, headers, n.body, n.policy, pick(n.headers, TARGETED_FIELDS), compactTags(surrogateKeys(n.headers)));
}

/**
 * Fields of a 304 from this stored response: those of a 200 except content metadata (RFC 9110
 * §15.4.5). Computed per use (304s are rarer than hits; not worth a field in every object).
 */
export function notModifiedHeaders(entry: StoredResponse): OutHeaders {
  return withoutContentFields(entry.headers);
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
    if (cl !== undefined && Number(cl) !== entry.bodyLength) return false;
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
  const receivedTargeted = pick(received, TARGETED_FIELDS);
  const targeted = receivedTargeted === NO_FIELDS ? entry.targeted : entry.targeted === NO_FIELDS ? receivedTargeted : { ...entry.targeted, ...receivedTargeted };
  // The policy is read from the merged fields; the first pass only learns the omit lists.
  const merged0 = updatedHeaders(entry.headers, received, { omit: [], storeSetCookie: true }, timing.responseTime);
  const view: Record<string, string | string[] | undefined> = { ...merged0, ...targeted, age: received['age'] };
  const policy = analyseResponse(entry.status, view, timing, cfg);
  const d = policy.effective.directives;
  const headers = updatedHeaders(entry.headers, received, { omit: [...d.noCacheFields, ...d.privateFields], storeSetCookie: cfg.storeSetCookie }, timing.responseTime);
  const newTags = received['surrogate-key'] !== undefined || received['cache-tag'] !== undefined ? compactTags(surrogateKeys(received)) : entry.tags;
  const updated = new StoredResponse(entry.key, entry.primary, entry.status, headers, entry.body, policy, targeted, newTags);
  // A Set-Cookie on a 304 is passed to that client but not stored (storedHeaders), so it does
  // not make the stored response unstorable.
  const storable = !d.private && (!d.noStore || d.mustUnderstand) && policy.vary.kind !== 'star';
  return { entry: updated, storable };
}
