// The edge's shared HTTP cache (RFC 9111), as one layer the request pipeline calls.
//
// How the pipeline uses it (src/proxy/pipeline.ts):
//
//   const cache = new EdgeCache(config.cache, { name: config.name, log, metrics });
//
//   // GET and HEAD: the cache answers, or fetches through `fetchOrigin` and maybe stores.
//   const r = await cache.handle(
//     { method, scheme, host, target, headers },         // CacheRequest
//     (up, signal) => fetchFromOrigin(up, signal),       // FetchOrigin
//     signal,
//   );
//   // r.status, r.headers (a fresh object per call: the caller may add to it), r.body
//   // (Buffer, Readable or null), r.cacheStatus (the Cache-Status value), r.result (log word)
//
//   // Other methods: the pipeline forwards them with their body, then:
//   cache.invalidateAfterUnsafe(req, status, responseHeaders);
//
//   // Admin purge: how many objects were removed (or marked stale when soft).
//   cache.purgeUrl('https', 'example.com', '/a?b'); cache.purgePrefix('https://example.com/img/');
//   cache.purgeTag('product-42', { soft: true }); cache.purgeAll();
//   cache.purge('url' | 'prefix' | 'tag' | 'all', value, soft);   // the same, in one call
//
// One EdgeCache per worker serves every host (the host is in the key). `fetchOrigin`
// receives the method, target and request headers the cache chose: for cacheable requests
// it strips conditionals, Range and the unkeyed forwarding headers (key.ts) and may add its
// own validators; the pipeline then adds its trusted forwarding headers and sends it.
//
// What `handle` does, in RFC 9111 terms:
//   lookup (§4, Vary §4.1) → fresh: answer from storage with Age (§4.2.3, §5.1), the client's
//   own conditionals (→ 304, RFC 9110 §13) and a single Range (→ 206 / 416, RFC 9110 §14);
//   stale within stale-while-revalidate → answer stale and refresh once in the background;
//   otherwise validate with If-None-Match / If-Modified-Since (§4.3.1), a 304 freshening the
//   stored fields (§4.3.4); misses are coalesced per key (one origin fetch, a lock with a
//   timeout); stale-if-error (and cache.staleIfError) answers stale when the origin fails.
//
// Choices worth knowing:
//   - Coalesced waiters get the leader's object once it is stored (a Buffer); when it is not
//     storable, too large or the lock times out, they fetch for themselves; when the leader
//     fails they compete once more, then share the failure (or stale-if-error).
//   - A HEAD that cannot be answered from storage is forwarded as HEAD (and may freshen a
//     stored GET, §4.3.5); only GET responses are stored, and only complete ones (no 206).
//   - A fresh `immutable` response (RFC 8246) answers client reloads (no-cache, max-age=0).
//   - Purges count what they removed (or marked stale); a fetch already under way when a
//     purge names its object does not store it afterwards.
//   - Rejections: the origin's AnyedgeError (after stale-if-error was considered), or
//     ONLY_IF_CACHED (504) with a Cache-Status header for only-if-cached requests.
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { CacheConfig } from '../config/schema.js';
import { AnyedgeError } from '../errors.js';
import { evaluatePreconditions, type PreconditionResult, type Validators } from '../http/conditional.js';
import type { HeaderMap } from '../http/headers.js';
import { parseHttpDate } from '../http/http-date.js';
import type { Logger } from '../log.js';
import { deferredCount, workerMetrics, type WorkerMetrics } from '../metrics.js';
import { ageSeconds, currentAge } from './age.js';
import { captureBody, discardBody, readBody } from './body.js';
import { NO_REQUEST_DIRECTIVES, requestDirectives, type RequestDirectives } from './cache-control.js';
import { detailStatus, forwardStatus, hitStatus, type ForwardReason } from './cache-status.js';
import { CacheLock, type LockHandle, type LockOutcome } from './coalesce.js';
import { invalidationKeys, isSafeMethod } from './invalidation.js';
import { cacheKey, isCacheableTarget, keyOrigin, keyPrefix } from './key.js';
import { CLIENT_CONDITIONALS, forwardedAsIs, originRequestHeaders, withoutPseudo, type SentValidators } from './origin-request.js';
import { applyRange, withoutContentFields } from './ranged-response.js';
import { reuseDecision, staleIfErrorAllowed } from './reuse.js';
import { notStorableReason } from './storability.js';
import { CacheStore } from './store.js';
import type { StaticFile, StaticStore } from '../static/store.js';
import { clientHeaders, type OutHeaders } from './stored-headers.js';
import {
  analyseResponse, createStoredResponse, describesStored, freshen, notModifiedHeaders,
  type ResponsePolicy, type StoredResponse, type Timing,
} from './stored-response.js';
import { secondaryKey } from './vary.js';

type InHeaders = Record<string, string | string[] | undefined>;

export interface CacheRequest {
  method: string;
  scheme: 'https' | 'http';
  host: string;
  /** path + query as received */
  target: string;
  /** lower-case names, no h2 pseudo-headers */
  headers: InHeaders;
}

export interface OriginResponse {
  status: number;
  headers: InHeaders;
  body: Readable | null;
}

/** Sends a request to the origin. Throws AnyedgeError (source 'upstream') on connect failure, reset, timeout. */
export type FetchOrigin = (req: { method: string; target: string; headers: InHeaders }, signal?: AbortSignal) => Promise<OriginResponse>;

export interface CacheResponse {
  status: number;
  /** A new object per response: the caller may add fields to it. */
  headers: Record<string, string | string[]>;
  /** Buffer for stored/complete bodies, Readable while streaming a miss, null for HEAD/304 */
  body: Buffer | Readable | null;
  /** full Cache-Status field value, e.g. `anyedge; hit; ttl=42` or `anyedge; fwd=miss; stored` */
  cacheStatus: string;
  /** short word for the access log: hit | miss | stale | revalidated | coalesced | bypass */
  result: string;
}

export type CacheMetrics = Pick<WorkerMetrics, 'cacheLookups' | 'cacheCoalesced' | 'cacheStoredBytes' | 'cacheStoredObjects' | 'cacheEvictions' | 'cachePurged'>;

export interface EdgeCacheOptions {
  /** Name in Cache-Status; default 'anyedge' (config.name). */
  name?: string;
  /** Clock in ms since the epoch; default Date.now. Tests inject one. */
  now?: () => number;
  /** Default: the worker's metrics (src/metrics.ts). */
  metrics?: CacheMetrics;
  /** Background refresh failures are logged here (warn); default: not logged. */
  log?: Pick<Logger, 'warn'>;
}

export interface PurgeOptions {
  /** Mark stale instead of deleting: the next request revalidates (stale-if-error still applies). */
  soft?: boolean;
}

export type PurgeKind = 'url' | 'prefix' | 'tag' | 'all';

/** How long a key whose response could not be stored skips coalescing (see #passUntil). */
const HIT_FOR_MISS_MS = 30_000;

/**
 * Bodies up to this size with a known length are read whole before answering: the client
 * then gets a Buffer (with Range support) and waiters get the object at the same moment.
 * Larger or unknown-length bodies stream to the first client while being stored.
 */
const BUFFER_LIMIT = 64 * 1024;

/** Why the cache went to the origin, and the stored response being validated, if any. */
interface ForwardContext {
  fwd: ForwardReason;
  stale: StoredResponse | undefined;
}

export class EdgeCache {
  readonly #cfg: CacheConfig;
  readonly #name: string;
  readonly #now: () => number;
  readonly #store: CacheStore;
  readonly #locks: CacheLock<StoredResponse>;
  /**
   * Hit-for-miss (Varnish's name): keys whose last response could not be stored, with the
   * time until which their misses skip the coalescing lock. Without it, concurrent requests
   * for a popular uncacheable URL (an API answering no-store) queue behind one another
   * for nothing: the waiters are sent to the origin anyway once the leader's answer turns
   * out not to be shareable. A storable answer clears the mark. Bounded, so a scan of
   * unique URLs cannot grow it.
   */
  readonly #passUntil = new LRUCache<string, number>({ max: 10_000 });
  readonly #log: Pick<Logger, 'warn'> | undefined;
  readonly #background = new Set<Promise<unknown>>();
  readonly #httpsOrigins = new Map<string, string>();
  readonly #httpOrigins = new Map<string, string>();
  /** Purges so far, and the recent ones: a fetch that started before a purge matching its object must not store it. */
  #epoch = 0;
  readonly #purgeLog: { epoch: number; matches: (e: StoredResponse) => boolean }[] = [];
  /** Locks whose release moved to a streamed body's completion (see #fetchFromOrigin). */
  readonly #lockHandedOver = new WeakSet<LockHandle<StoredResponse>>();
  readonly #m: {
    hit: { inc(): void }; miss: { inc(): void }; stale: { inc(): void }; revalidated: { inc(): void }; bypass: { inc(): void };
    coalesced: { inc(): void }; evictions: { inc(): void };
    bytes: CacheMetrics['cacheStoredBytes']; objects: CacheMetrics['cacheStoredObjects']; purged: CacheMetrics['cachePurged'];
  };
  #reportedBytes = 0;
  #reportedObjects = 0;

  constructor(cfg: CacheConfig, opts: EdgeCacheOptions = {}) {
    this.#cfg = cfg;
    this.#name = opts.name ?? 'anyedge';
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log;
    const metrics = opts.metrics ?? workerMetrics();
    const lookups = metrics.cacheLookups;
    // Counted on every request (and evictions on every store into a full cache): plain
    // numbers, added to the counters when they are scraped.
    this.#m = {
      hit: deferredCount(lookups, { result: 'hit' }),
      miss: deferredCount(lookups, { result: 'miss' }),
      stale: deferredCount(lookups, { result: 'stale' }),
      revalidated: deferredCount(lookups, { result: 'revalidated' }),
      bypass: deferredCount(lookups, { result: 'bypass' }),
      coalesced: metrics.cacheCoalesced,
      evictions: deferredCount(metrics.cacheEvictions),
      bytes: metrics.cacheStoredBytes,
      objects: metrics.cacheStoredObjects,
      purged: metrics.cachePurged,
    };
    this.#store = new CacheStore({ maxSize: cfg.maxSize, maxObjectSize: cfg.maxObjectSize, onEvict: () => this.#m.evictions.inc() });
    this.#locks = new CacheLock(cfg.lockTimeout);
  }

  /**
   * Answers a request from the cache or through it (see the top of this file). Rejects with
   * the origin's AnyedgeError when there is no response to give (and none stale to serve),
   * and with ONLY_IF_CACHED (504) for only-if-cached requests it cannot answer.
   */
  handle(req: CacheRequest, fetchOrigin: FetchOrigin, signal?: AbortSignal): Promise<CacheResponse> {
    const r = this.serve(req, fetchOrigin, signal);
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  /**
   * handle() for the request pipeline's hot path: a hit or a stale answer comes back as it
   * is, not in a promise, so the pipeline answers it in the same turn without an async
   * frame or a microtask; anything that involves the origin is a promise as in handle().
   * Errors are always a rejected promise, never thrown.
   */
  serve(req: CacheRequest, fetchOrigin: FetchOrigin, signal?: AbortSignal): CacheResponse | Promise<CacheResponse> {
    try {
      let r: CacheResponse | Promise<CacheResponse>;
      if (req.method !== 'GET' && req.method !== 'HEAD') r = this.#forwardOther(req, fetchOrigin, signal);
      else if (!this.#cfg.enabled || !isCacheableTarget(req.target)) r = this.#bypass(req, fetchOrigin, signal);
      else r = this.#lookup(req, this.#keyOrigin(req.scheme, req.host) + req.target, fetchOrigin, signal, 0);
      if (!(r instanceof Promise)) {
        this.#count(r.result);
        return r;
      }
      return r.then((x) => { this.#count(x.result); return x; }, (err: unknown) => { this.#count('miss'); throw err; });
    } catch (err) {
      this.#count('miss');
      return Promise.reject(err);
    }
  }

  /** keyOrigin (key.ts) memoised: a node serves few hosts, and every request needs it. */
  #keyOrigin(scheme: string, host: string): string {
    const memo = scheme === 'https' ? this.#httpsOrigins : this.#httpOrigins;
    let o = memo.get(host);
    if (o === undefined) {
      if (memo.size >= 1024) memo.clear(); // arbitrary Host values must not grow it without bound
      o = keyOrigin(scheme, host);
      memo.set(host, o);
    }
    return o;
  }

  /** One lookup result per client request (coalesced waiters count as hits: the origin did not see them). */
  #count(result: string): void {
    switch (result) {
      case 'hit': case 'coalesced': this.#m.hit.inc(); break;
      case 'stale': this.#m.stale.inc(); break;
      case 'revalidated': this.#m.revalidated.inc(); break;
      case 'bypass': this.#m.bypass.inc(); break;
      default: this.#m.miss.inc();
    }
  }

  /**
   * RFC 9111 §4.4: after a non-error response to an unsafe method, the target URI and the
   * same-host URIs in Location and Content-Location are invalidated. Returns how many stored
   * objects were removed.
   */
  invalidateAfterUnsafe(req: { method: string; scheme: string; host: string; target: string }, status: number, headers: HeaderMap): number {
    const keys = invalidationKeys(req, status, headers);
    if (keys.length === 0) return 0;
    this.#recordPurge((e) => keys.includes(e.primary));
    let n = 0;
    for (const key of keys) n += this.#store.purgePrimary(key, false);
    if (n > 0) this.#reportSize();
    return n;
  }

  /** Every stored variant of one URL. */
  purgeUrl(scheme: string, host: string, target: string, opts: PurgeOptions = {}): number {
    const key = cacheKey(scheme, host, target);
    this.#recordPurge((e) => e.primary === key);
    return this.#purged('url', opts, this.#store.purgePrimary(key, opts.soft === true));
  }

  /** Every object under "scheme://host/path-prefix" (a bare "scheme://host" means the whole host). */
  purgePrefix(prefix: string, opts: PurgeOptions = {}): number {
    const p = keyPrefix(prefix);
    if (p === undefined) throw new AnyedgeError('BAD_REQUEST', `a purge prefix looks like https://host/path, got ${JSON.stringify(prefix)}`);
    this.#recordPurge((e) => e.key.startsWith(p));
    return this.#purged('prefix', opts, this.#store.purgePrefix(p, opts.soft === true));
  }

  /** Every object whose Surrogate-Key or Cache-Tag named this tag. */
  purgeTag(tag: string, opts: PurgeOptions = {}): number {
    this.#recordPurge((e) => e.tags.includes(tag));
    return this.#purged('tag', opts, this.#store.purgeTag(tag, opts.soft === true));
  }

  purgeAll(opts: PurgeOptions = {}): number {
    this.#recordPurge(() => true);
    return this.#purged('all', opts, this.#store.purgeAll(opts.soft === true));
  }

  /** All purges in one call (the admin plane's shape). `url` takes an absolute URL "https://host/path?query". */
  purge(kind: PurgeKind, value: string, soft: boolean): number {
    const opts = { soft };
    switch (kind) {
      case 'url': {
        const m = /^(https?):\/\/([^/?#]+)([^#]*)/i.exec(value);
        if (!m) throw new AnyedgeError('BAD_REQUEST', `a purge URL looks like https://host/path, got ${JSON.stringify(value)}`);
        const [, scheme = '', host = '', rest = ''] = m;
        return this.purgeUrl(scheme, host, rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`, opts);
      }
      case 'prefix': return this.purgePrefix(value, opts);
      case 'tag': return this.purgeTag(value, opts);
      case 'all': return this.purgeAll(opts);
    }
  }

  /**
   * A store for static files inside this cache's byte budget (cache.maxSize), so files
   * served at the edge and cached responses share one bound and one LRU.
   */
  staticStore(): StaticStore {
    const store = this.#store;
    return {
      get: (key) => store.getExtra<StaticFile>(key),
      set: (key, file, size) => { store.setExtra(key, file, size); },
      delete: (key) => store.deleteExtra(key),
    };
  }

  stats(): { objects: number; bytes: number } {
    return { objects: this.#store.objects, bytes: this.#store.bytes };
  }

  /** Resolves once background work (refreshes, stores of streamed bodies) has finished. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // ── lookup ────────────────────────────────────────────────────────────────────────────

  /** Synchronous for hits and stale answers; a promise when the origin is involved. */
  #lookup(req: CacheRequest, primary: string, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined, round: number): CacheResponse | Promise<CacheResponse> {
    const rd = requestDirectives(req.headers);
    const entry = this.#store.lookup(primary, req.headers);
    // §3.5: a request with Authorization is answered from storage only by a response that
    // a shared cache may give to any authorised request.
    if (entry !== undefined && (req.headers['authorization'] === undefined || entry.authShareable)) {
      const now = this.#now();
      const age = currentAge(entry.correctedInitialAge, entry.responseTime, now);
      const decision = reuseDecision(entry, age, rd);
      if (decision === 'fresh' || decision === 'stale-allowed') {
        return this.#fromStore(entry, req, age, hitStatus(this.#name, ttl(entry, age)), 'hit', now);
      }
      if (decision === 'stale-while-revalidate') {
        this.#refreshInBackground(primary, entry, req, fetchOrigin);
        return this.#fromStore(entry, req, age, hitStatus(this.#name, ttl(entry, age), 'stale-while-revalidate'), 'stale', now);
      }
      if (rd.onlyIfCached) throw this.#onlyIfCached();
      const isStale = entry.invalidated || entry.noCache || age >= entry.lifetime;
      const ctx: ForwardContext = { fwd: isStale ? 'stale' : 'request', stale: entry };
      if (req.method === 'HEAD') return this.#forwardHead(req, rd, ctx, fetchOrigin, signal);
      return this.#fetch(req, primary, rd, ctx, fetchOrigin, signal, round);
    }
    if (rd.onlyIfCached) throw this.#onlyIfCached();
    const ctx: ForwardContext = { fwd: this.#store.hasVariants(primary) ? 'vary-miss' : 'miss', stale: undefined };
    if (req.method === 'HEAD') return this.#forwardHead(req, rd, ctx, fetchOrigin, signal);
    return this.#fetch(req, primary, rd, ctx, fetchOrigin, signal, round);
  }

  /** The hot path: a stored response as the answer. Only Age is computed per use. */
  #fromStore(entry: StoredResponse, req: CacheRequest, age: number, cacheStatus: string, result: string, now: number, extra?: OutHeaders): CacheResponse {
    const h = req.headers;
    if (
      extra !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined
      || h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined || (h['range'] !== undefined && req.method === 'GET')
    ) return this.#fromStoreConditional(entry, req, age, cacheStatus, result, now, extra);
    // Age first, then the stored fields: this literal form copies several times faster in V8
    // than spreading and then adding a property (stored fields never include Age).
    const headers: Record<string, string | string[]> = { age: String(ageSeconds(age)), ...entry.headers };
    return { status: entry.status, headers, body: req.method === 'HEAD' ? null : entry.body, cacheStatus, result };
  }

  /** A stored response answering a conditional or range request (RFC 9111 §4.3.2, RFC 9110 §13, §14). */
  #fromStoreConditional(entry: StoredResponse, req: CacheRequest, age: number, cacheStatus: string, result: string, now: number, extra: OutHeaders | undefined): CacheResponse {
    const ageValue = String(ageSeconds(age));
    if (entry.status >= 200 && entry.status < 300) {
      // §4.3.2: If-Modified-Since is evaluated against Last-Modified, or else the Date.
      const validators: Validators = {
        etag: entry.etag,
        lastModified: entry.lastModified ?? (req.headers['if-unmodified-since'] === undefined ? entry.date : undefined),
      };
      const pre = evaluatePreconditions(req.method, req.headers, validators);
      if (pre !== 'proceed') return this.#preconditionAnswer(pre, notModifiedHeaders(entry), ageValue, cacheStatus, result, now, extra);
    }
    const headers: Record<string, string | string[]> = { age: ageValue, ...entry.headers, ...extra };
    if (req.method === 'HEAD') return { status: entry.status, headers, body: null, cacheStatus, result };
    if (entry.status === 200 && req.headers['range'] !== undefined) {
      const ranged = applyRange(entry.body, headers, req.headers, { etag: entry.etag, lastModified: entry.lastModified }, now);
      if (ranged !== undefined) return { ...ranged, cacheStatus, result };
    }
    return { status: entry.status, headers, body: entry.body, cacheStatus, result };
  }

  #preconditionAnswer(pre: Exclude<PreconditionResult, 'proceed'>, base: OutHeaders, age: string | undefined, cacheStatus: string, result: string, now: number, extra?: OutHeaders): CacheResponse {
    if (pre === 'not-modified') {
      const headers: Record<string, string | string[]> = age === undefined ? { ...base, ...extra } : { age, ...base, ...extra };
      return { status: 304, headers, body: null, cacheStatus, result };
    }
    // 412 with nothing from the stored response: its freshness fields would let a
    // downstream cache store the 412.
    return { status: 412, headers: { date: new Date(now).toUTCString(), 'content-length': '0' }, body: null, cacheStatus, result };
  }

  #onlyIfCached(): AnyedgeError {
    // §5.2.1.7: answer from storage or 504; the pipeline's error path sends the 504.
    return new AnyedgeError('ONLY_IF_CACHED', 'only-if-cached: the response is not stored at this edge', {
      headers: { 'cache-status': detailStatus(this.#name, 'only-if-cached') },
    });
  }

  // ── fetch through the cache ───────────────────────────────────────────────────────────

  /** A miss or a validation: coalesced per key, then fetched by the leader. */
  #fetch(req: CacheRequest, primary: string, rd: RequestDirectives, ctx: ForwardContext, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined, round: number): Promise<CacheResponse> {
    // Requests whose response others may not be able to share (the client's own no-store,
    // or Authorization: §3.5) do not lead a key — waiters would all be sent to the origin
    // afterwards. They fetch on their own (and may still store).
    if (rd.noStore || req.headers['authorization'] !== undefined) return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, undefined, signal);
    const passUntil = this.#passUntil.get(primary);
    if (passUntil !== undefined) {
      if (passUntil > this.#now()) return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, undefined, signal);
      this.#passUntil.delete(primary);
    }
    const acquired = this.#locks.acquire(primary);
    // The leader's promise is the fetch's own: no async frame of this method around it.
    if (acquired.leader) return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, acquired.lock, undefined);
    this.#m.coalesced.inc();
    return this.#afterWait(acquired.wait, req, primary, rd, ctx, fetchOrigin, signal, round);
  }

  /** A coalesced request: what the leader's fetch left decides whether it goes to the origin itself. */
  async #afterWait(wait: Promise<LockOutcome<StoredResponse>>, req: CacheRequest, primary: string, rd: RequestDirectives, ctx: ForwardContext, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined, round: number): Promise<CacheResponse> {
    const outcome = await wait;
    switch (outcome.kind) {
      case 'stored':
        if (this.#usableFor(outcome.entry, primary, req)) {
          const now = this.#now();
          const e = outcome.entry;
          const age = currentAge(e.correctedInitialAge, e.responseTime, now);
          return this.#fromStore(e, req, age, forwardStatus(this.#name, { fwd: ctx.fwd, collapsed: true, ttl: ttl(e, age) }), 'coalesced', now);
        }
        // Another variant, or not for this Authorization: look again (its own leader may be needed).
        if (round < 2) return this.#lookup(req, primary, fetchOrigin, signal, round + 1);
        return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, undefined, signal);
      case 'stale':
        if (this.#usableFor(outcome.entry, primary, req)) return this.#serveStaleOnError(outcome.entry, req, undefined);
        return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, undefined, signal);
      case 'failed':
        // The leader's fetch failed: compete once more (one of the waiters fetches); after a
        // second failure, answer as the leader did rather than send every waiter to the origin.
        if (round === 0) return this.#lookup(req, primary, fetchOrigin, signal, round + 1);
        return this.#originFailed(outcome.error, req, rd, ctx, undefined);
      case 'pass':
      case 'timeout':
        return this.#fetchFromOrigin(req, rd, ctx, fetchOrigin, undefined, signal);
    }
  }

  /** Whether an object another request fetched may answer this one (Vary §4.1, Authorization §3.5). */
  #usableFor(entry: StoredResponse, primary: string, req: CacheRequest): boolean {
    if (req.headers['authorization'] !== undefined && !entry.authShareable) return false;
    if (entry.varyNames === undefined) return true;
    return entry.key === `${primary}\u0000${secondaryKey(entry.varyNames, req.headers)}`;
  }

  /**
   * One origin fetch for a cacheable GET. `lock` is held when this request leads its key;
   * it is released on every path (stored / stale / failed / pass), for streamed bodies once
   * the body is complete.
   */
  async #fetchFromOrigin(
    req: CacheRequest, rd: RequestDirectives, ctx: ForwardContext, fetchOrigin: FetchOrigin,
    lock: LockHandle<StoredResponse> | undefined, signal: AbortSignal | undefined,
  ): Promise<CacheResponse> {
    try {
      const validators = ctx.stale === undefined ? undefined : sentValidators(ctx.stale);
      const epoch = this.#epoch;
      const timing: Timing = { requestTime: this.#now(), responseTime: 0 };
      let res: OriginResponse;
      try {
        res = await fetchOrigin({ method: 'GET', target: req.target, headers: originRequestHeaders(req.headers, validators) }, lock === undefined ? signal : undefined);
      } catch (err) {
        return this.#originFailed(err, req, rd, ctx, lock);
      }
      timing.responseTime = this.#now();
      return await this.#onOriginResponse(req, rd, ctx, fetchOrigin, lock, signal, res, timing, epoch, validators !== undefined);
    } finally {
      // Paths that hand the lock to a streamed body have not released it yet; they own it.
      // Everything else has released it by now; this only catches an unexpected throw.
      if (lock !== undefined && !lock.released && !this.#lockHandedOver.has(lock)) lock.release({ kind: 'pass' });
    }
  }

  async #onOriginResponse(
    req: CacheRequest, rd: RequestDirectives, ctx: ForwardContext, fetchOrigin: FetchOrigin,
    lock: LockHandle<StoredResponse> | undefined, signal: AbortSignal | undefined,
    res: OriginResponse, timing: Timing, epoch: number, conditional: boolean,
  ): Promise<CacheResponse> {
    const stale = ctx.stale;
    const release = (o: Parameters<LockHandle<StoredResponse>['release']>[0]): void => lock?.release(o);

    // §4.3.3 / §4.3.4: the stored response is still valid; freshen it.
    if (res.status === 304 && stale !== undefined && conditional) {
      discardBody(res.body);
      if (describesStored(stale, res.headers, '304')) {
        const fr = freshen(stale, res.headers, timing, this.#cfg);
        const entry = fr.entry;
        const storable = fr.storable && this.#put(entry, epoch);
        if (!fr.storable) this.#store.remove(stale);
        release(storable ? { kind: 'stored', entry } : { kind: 'pass' });
        const now = this.#now();
        const age = currentAge(entry.correctedInitialAge, entry.responseTime, now);
        // A Set-Cookie the 304 carries goes to this client even when it is not stored.
        const cookie = this.#cfg.storeSetCookie ? undefined : res.headers['set-cookie'];
        return this.#fromStore(entry, req, age, forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: 304, stored: storable, ttl: ttl(entry, age) }), 'revalidated', now,
          cookie === undefined ? undefined : { 'set-cookie': cookie });
      }
      // The 304 is about another representation than the one stored: fetch it whole.
      return this.#fetchFromOrigin(req, rd, { fwd: ctx.fwd, stale: undefined }, fetchOrigin, lock, signal);
    }

    // §4.3.3: a 5xx while validating may be treated like no answer (stale-if-error).
    if (res.status >= 500 && stale !== undefined && this.#staleOnErrorAllowed(stale, rd)) {
      discardBody(res.body);
      release({ kind: 'stale', entry: stale });
      return this.#serveStaleOnError(stale, req, res.status);
    }

    const policy = analyseResponse(res.status, res.headers, timing, this.#cfg);
    const reason = this.#notStorable(req, rd, res, policy);
    if (reason !== undefined) {
      // A newer complete response supersedes what was stored (§4.3.3) even when it may not be
      // stored itself — unless only the client's own no-store kept it out (a client must not
      // be able to evict objects for everyone).
      if (stale !== undefined && res.status < 500 && reason !== 'request-no-store') this.#store.remove(stale);
      if (res.status < 500 && reason !== 'request-no-store') this.#passUntil.set(this.#keyOrigin(req.scheme, req.host) + req.target, this.#now() + HIT_FOR_MISS_MS);
      release({ kind: 'pass' });
      const status = forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: fwdStatusOf(ctx, res.status), detail: reason });
      if (req.headers['range'] !== undefined && res.status === 200 && res.body !== null) {
        // The cache asked for the whole representation; a small one is cut here, a large one
        // is asked for again as the client's range rather than sent whole.
        const length = contentLength(res.headers);
        if (length === undefined || length > BUFFER_LIMIT) {
          discardBody(res.body, true);
          return this.#forwardAsIs(req, fetchOrigin, signal, status);
        }
        let body: Buffer;
        try {
          body = await readBody(res.body, length);
        } catch (err) {
          return this.#originFailed(err, req, rd, { fwd: ctx.fwd, stale: undefined }, undefined);
        }
        return this.#shape(req, res.status, clientHeaders(res.headers, timing.responseTime), body, status, 'miss', timing.responseTime);
      }
      return this.#passThrough(req, res, status, 'miss');
    }

    const primary = this.#keyOrigin(req.scheme, req.host) + req.target; // cacheKey(), its origin part memoised
    const secondary = policy.vary.kind === 'names' ? secondaryKey(policy.vary.names, req.headers) : undefined;
    const length = contentLength(res.headers);
    const hasRange = req.headers['range'] !== undefined;
    const maxObject = this.#store.maxObjectSize;
    const cacheStatus = forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: fwdStatusOf(ctx, res.status), stored: true });

    if (length !== undefined && length > maxObject) {
      this.#passUntil.set(primary, this.#now() + HIT_FOR_MISS_MS);
      release({ kind: 'pass' });
      if (hasRange) {
        // A range of an object too large to store: ask the origin for just that range.
        discardBody(res.body, true);
        return this.#forwardAsIs(req, fetchOrigin, signal, forwardStatus(this.#name, { fwd: ctx.fwd, detail: 'too-large' }));
      }
      return this.#passThrough(req, res, forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: fwdStatusOf(ctx, res.status), detail: 'too-large' }), 'miss');
    }

    const noBody = res.body === null || res.status === 204 || res.status === 304;
    if (noBody || (length !== undefined && (length <= BUFFER_LIMIT || hasRange))) {
      let body: Buffer;
      try {
        body = noBody ? Buffer.alloc(0) : await readBody(res.body, length ?? maxObject);
      } catch (err) {
        return this.#originFailed(err, req, rd, ctx, lock);
      }
      const entry = createStoredResponse({ primary, secondary, status: res.status, headers: res.headers, body, policy, timing, storeSetCookie: this.#cfg.storeSetCookie });
      const stored = this.#worthStoring(entry) && this.#put(entry, epoch);
      if (!stored && stale !== undefined) this.#store.remove(stale);
      release(stored ? { kind: 'stored', entry } : { kind: 'pass' });
      const headers = clientHeaders(res.headers, timing.responseTime);
      if (!noBody) headers['content-length'] = String(body.length);
      const status = stored ? cacheStatus : forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: fwdStatusOf(ctx, res.status), detail: 'stale-on-arrival' });
      return this.#shape(req, res.status, headers, body, status, 'miss', timing.responseTime);
    }

    if (hasRange && length === undefined) {
      // Unknown length: the range cannot be served from what arrives; forward it instead.
      discardBody(res.body, true);
      release({ kind: 'pass' });
      return this.#forwardAsIs(req, fetchOrigin, signal, forwardStatus(this.#name, { fwd: ctx.fwd, detail: 'range' }));
    }

    // Stream to this client while storing; waiters get the object when it is complete.
    const source = res.body as Readable;
    const capture = captureBody(source, maxObject);
    if (lock !== undefined) this.#lockHandedOver.add(lock);
    this.#track(capture.done.then(
      (body) => {
        const entry = body === undefined ? undefined
          : createStoredResponse({ primary, secondary, status: res.status, headers: res.headers, body, policy, timing, storeSetCookie: this.#cfg.storeSetCookie });
        const stored = entry !== undefined && this.#worthStoring(entry) && this.#put(entry, epoch);
        // What was stored before is superseded by this response even when it is not kept.
        if (!stored && stale !== undefined) this.#store.remove(stale);
        release(stored ? { kind: 'stored', entry } : { kind: 'pass' });
      },
      (err: unknown) => release({ kind: 'failed', error: err }),
    ));
    return this.#shape(req, res.status, clientHeaders(res.headers, timing.responseTime), capture.stream, cacheStatus, 'miss', timing.responseTime);
  }

  /** §3, §3.5 plus this edge's rules; undefined when the response may be stored. */
  #notStorable(req: CacheRequest, rd: RequestDirectives, res: OriginResponse, policy: ResponsePolicy): string | undefined {
    return notStorableReason({
      method: 'GET',
      status: res.status,
      directives: policy.effective.directives,
      request: rd,
      authorization: req.headers['authorization'] !== undefined,
      hasExpires: policy.hasExpires,
      vary: policy.vary,
      setCookie: res.headers['set-cookie'] !== undefined,
      storeSetCookie: this.#cfg.storeSetCookie,
    });
  }

  /**
   * Storable, but is it worth the memory? Not when it is already stale, cannot be validated
   * and may not be served stale: no request could ever be answered with it.
   */
  #worthStoring(e: StoredResponse): boolean {
    if (e.lifetime > e.correctedInitialAge && !e.noCache) return true;
    if (e.etag !== undefined || e.lastModified !== undefined) return true;
    if (e.noStale) return false;
    return (e.staleWhileRevalidate ?? 0) > 0 || (e.staleIfError ?? this.#cfg.staleIfError) > 0;
  }

  /** Stores an object fetched since `epoch`, unless a purge since then names it. */
  #put(entry: StoredResponse, epoch: number): boolean {
    if (this.#purgedSince(entry, epoch)) return false;
    const ok = this.#store.set(entry);
    if (ok) this.#passUntil.delete(entry.primary);
    this.#reportSize();
    return ok;
  }

  #recordPurge(matches: (e: StoredResponse) => boolean): void {
    this.#epoch++;
    this.#purgeLog.push({ epoch: this.#epoch, matches });
    if (this.#purgeLog.length > 64) this.#purgeLog.shift();
  }

  /** Whether a purge after `epoch` matches the object (when the log no longer reaches back, assume so). */
  #purgedSince(entry: StoredResponse, epoch: number): boolean {
    if (epoch === this.#epoch) return false;
    const oldest = this.#purgeLog[0];
    if (oldest === undefined || oldest.epoch > epoch + 1) return true;
    for (const p of this.#purgeLog) if (p.epoch > epoch && p.matches(entry)) return true;
    return false;
  }

  #staleOnErrorAllowed(stale: StoredResponse, rd: RequestDirectives): boolean {
    const age = currentAge(stale.correctedInitialAge, stale.responseTime, this.#now());
    return staleIfErrorAllowed(stale, age, rd, this.#cfg.staleIfError);
  }

  /** The origin failed (error, reset, timeout): stale-if-error, or the error. */
  #originFailed(err: unknown, req: CacheRequest, rd: RequestDirectives, ctx: ForwardContext, lock: LockHandle<StoredResponse> | undefined): CacheResponse {
    const stale = ctx.stale;
    if (stale !== undefined && err instanceof AnyedgeError && err.source === 'upstream' && this.#staleOnErrorAllowed(stale, rd)) {
      lock?.release({ kind: 'stale', entry: stale });
      return this.#serveStaleOnError(stale, req, undefined);
    }
    lock?.release({ kind: 'failed', error: err });
    throw err;
  }

  #serveStaleOnError(entry: StoredResponse, req: CacheRequest, fwdStatus: number | undefined): CacheResponse {
    const now = this.#now();
    const age = currentAge(entry.correctedInitialAge, entry.responseTime, now);
    return this.#fromStore(entry, req, age, forwardStatus(this.#name, { fwd: 'stale', fwdStatus, ttl: ttl(entry, age), detail: 'stale-if-error' }), 'stale', now);
  }

  /** stale-while-revalidate: one background validation per key (the lock makes it one). */
  #refreshInBackground(primary: string, entry: StoredResponse, req: CacheRequest, fetchOrigin: FetchOrigin): void {
    const acquired = this.#locks.acquire(primary);
    if (!acquired.leader) return; // a fetch for this key is already under way
    const headers: InHeaders = {};
    for (const name in req.headers) if (!CLIENT_CONDITIONALS.includes(name)) headers[name] = req.headers[name];
    const bgReq: CacheRequest = { ...req, method: 'GET', headers };
    this.#track(
      this.#fetchFromOrigin(bgReq, NO_REQUEST_DIRECTIVES, { fwd: 'stale', stale: entry }, fetchOrigin, acquired.lock, undefined).then(
        (r) => { if (r.body !== null && !Buffer.isBuffer(r.body)) discardBody(r.body, true); },
        (err: unknown) => this.#log?.warn({ err, key: primary }, 'cache: background refresh failed'),
      ),
    );
  }

  #track(p: Promise<unknown>): void {
    const t = p.catch(() => undefined).finally(() => this.#background.delete(t));
    this.#background.add(t);
  }

  // ── requests that are forwarded, not stored ───────────────────────────────────────────

  /**
   * HEAD that cannot be answered from storage: forwarded as HEAD. When a stored GET response
   * is being validated, a matching HEAD response freshens it, and one that does not match
   * marks it stale (§4.3.5). Origin failure → stale-if-error as for GET.
   */
  async #forwardHead(req: CacheRequest, rd: RequestDirectives, ctx: ForwardContext, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined): Promise<CacheResponse> {
    const timing: Timing = { requestTime: this.#now(), responseTime: 0 };
    const epoch = this.#epoch;
    let res: OriginResponse;
    try {
      res = await fetchOrigin({ method: 'HEAD', target: req.target, headers: originRequestHeaders(req.headers, undefined) }, signal);
    } catch (err) {
      return this.#originFailed(err, req, rd, ctx, undefined);
    }
    timing.responseTime = this.#now();
    discardBody(res.body);
    const stale = ctx.stale;
    if (stale !== undefined) {
      if (res.status >= 500 && this.#staleOnErrorAllowed(stale, rd)) return this.#serveStaleOnError(stale, req, res.status);
      if (res.status === 200) {
        if (describesStored(stale, res.headers, 'head')) {
          const { entry, storable } = freshen(stale, res.headers, timing, this.#cfg);
          if (storable) this.#put(entry, epoch);
          else this.#store.remove(stale);
        } else {
          stale.invalidated = true;
        }
      }
    }
    return this.#passThrough(req, { status: res.status, headers: res.headers, body: null }, forwardStatus(this.#name, { fwd: ctx.fwd, fwdStatus: fwdStatusOf(ctx, res.status) }), 'miss');
  }

  /** Unsafe and other methods: forwarded as they are, then §4.4 invalidation. */
  async #forwardOther(req: CacheRequest, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined): Promise<CacheResponse> {
    const res = await fetchOrigin({ method: req.method, target: req.target, headers: withoutPseudo(req.headers) }, signal);
    this.invalidateAfterUnsafe(req, res.status, res.headers);
    const fwd: ForwardReason = isSafeMethod(req.method) ? 'bypass' : 'method';
    return { status: res.status, headers: clientHeaders(res.headers, this.#now()), body: res.body, cacheStatus: forwardStatus(this.#name, { fwd }), result: 'bypass' };
  }

  /** The cache is disabled, or the target is not origin-form: forward untouched. */
  async #bypass(req: CacheRequest, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined): Promise<CacheResponse> {
    const res = await fetchOrigin({ method: req.method, target: req.target, headers: withoutPseudo(req.headers) }, signal);
    const body = req.method === 'HEAD' ? (discardBody(res.body), null) : res.body;
    return { status: res.status, headers: clientHeaders(res.headers, this.#now()), body, cacheStatus: forwardStatus(this.#name, { fwd: 'bypass' }), result: 'bypass' };
  }

  /** Forwards the client's own request (with its Range and conditionals); nothing is stored. */
  async #forwardAsIs(req: CacheRequest, fetchOrigin: FetchOrigin, signal: AbortSignal | undefined, cacheStatus: string): Promise<CacheResponse> {
    const res = await fetchOrigin({ method: req.method, target: req.target, headers: forwardedAsIs(req.headers) }, signal);
    const body = req.method === 'HEAD' ? (discardBody(res.body), null) : res.body;
    return { status: res.status, headers: clientHeaders(res.headers, this.#now()), body, cacheStatus, result: 'miss' };
  }

  /** An origin response to a request whose conditionals the cache removed: evaluated here. */
  #passThrough(req: CacheRequest, res: OriginResponse, cacheStatus: string, result: string): CacheResponse {
    const now = this.#now();
    return this.#shape(req, res.status, clientHeaders(res.headers, now), res.body, cacheStatus, result, now);
  }

  /**
   * The client's view of a response the cache fetched: its own conditionals (the cache sent
   * none of them), HEAD, and a single Range when the whole body is at hand.
   */
  #shape(req: CacheRequest, status: number, headers: OutHeaders, body: Buffer | Readable | null, cacheStatus: string, result: string, now: number): CacheResponse {
    const dropBody = (): null => {
      if (body !== null && !Buffer.isBuffer(body)) discardBody(body, true);
      return null;
    };
    if (status >= 200 && status < 300 && hasConditional(req.headers)) {
      const etag = first(headers['etag']);
      const lm = first(headers['last-modified']);
      const lastModified = lm === undefined ? undefined : parseHttpDate(lm);
      const pre = evaluatePreconditions(req.method, req.headers, { etag, lastModified });
      if (pre !== 'proceed') {
        dropBody();
        return this.#preconditionAnswer(pre, withoutContentFields(headers), undefined, cacheStatus, result, now);
      }
    }
    if (req.method === 'HEAD') return { status, headers, body: dropBody(), cacheStatus, result };
    if (status === 200 && Buffer.isBuffer(body) && req.headers['range'] !== undefined) {
      const lm = first(headers['last-modified']);
      const ranged = applyRange(body, headers, req.headers, { etag: first(headers['etag']), lastModified: lm === undefined ? undefined : parseHttpDate(lm) }, now);
      if (ranged !== undefined) return { ...ranged, cacheStatus, result };
    }
    return { status, headers, body, cacheStatus, result };
  }

  #purged(kind: PurgeKind, opts: PurgeOptions, n: number): number {
    if (n > 0) this.#m.purged.inc({ kind: opts.soft === true ? `${kind}_soft` : kind }, n);
    this.#reportSize();
    return n;
  }

  /** Gauges move by deltas, so several EdgeCache instances in one process add up. */
  #reportSize(): void {
    const bytes = this.#store.bytes;
    const objects = this.#store.objects;
    if (bytes !== this.#reportedBytes) { this.#m.bytes.inc(bytes - this.#reportedBytes); this.#reportedBytes = bytes; }
    if (objects !== this.#reportedObjects) { this.#m.objects.inc(objects - this.#reportedObjects); this.#reportedObjects = objects; }
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────

/** Remaining freshness in whole seconds, negative when stale (RFC 9211 §2.7). */
function ttl(e: StoredResponse, age: number): number {
  return Math.floor((e.lifetime - age) / 1000);
}

function first(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

function contentLength(headers: InHeaders): number | undefined {
  const v = first(headers['content-length']);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function hasConditional(h: InHeaders): boolean {
  return h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined;
}

/** fwd-status is worth saying when it is not the status the client gets anyway. */
function fwdStatusOf(ctx: ForwardContext, status: number): number | undefined {
  return ctx.stale !== undefined ? status : undefined;
}

/** The validators to send for a stored response (RFC 9111 §4.3.1), or undefined when it has none. */
function sentValidators(e: StoredResponse): SentValidators | undefined {
  const lm = first(e.headers['last-modified']);
  if (e.etag === undefined && lm === undefined) return undefined;
  return { etag: e.etag, lastModified: lm };
}
