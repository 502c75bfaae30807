// In-memory storage: an LRU bounded by total bytes (cache.maxSize) and by object size
// (cache.maxObjectSize), with two indexes beside it — primary key → its Vary variants, and
// surrogate key → objects — kept exact by the LRU's dispose hook, so every way an object
// leaves (eviction, replacement, purge) also leaves the indexes.
//
// Small bodies are packed into the slabs of a BodyArena when stored (body-arena.ts). The
// bytes reported and bounded are the objects' sizes plus the arena's waste (holes left by
// bodies gone from slabs still in use, and the unused end of the current slab): what the
// store retains. After every change the store compacts when holes are too many, then
// evicts least recently used objects while the total is over maxSize.
import { LRUCache } from 'lru-cache';
import type { HeaderMap } from '../http/headers.js';
import { BodyArena } from './body-arena.js';
import { StoredResponse } from './stored-response.js';
import { secondaryKey } from './vary.js';

interface Variants {
  /** The Vary field names of the responses stored for this primary key (sorted). */
  readonly names: readonly string[];
  /** Their LRU keys. */
  readonly keys: Set<string>;
}

export interface StoreOptions {
  /** Total bytes (cache.maxSize). */
  maxSize: number;
  /** Largest object (cache.maxObjectSize); larger ones are never stored. */
  maxObjectSize: number;
  /** Called once per object evicted to stay within maxSize. */
  onEvict?: () => void;
}

/**
 * Something other than an HTTP response held in the same byte budget: static files. Its
 * key starts with "static:", which no cache key (scheme://host…) can, so the two never meet.
 */
export interface ExtraEntry {
  readonly kind: 'extra';
  readonly value: unknown;
  readonly size: number;
}

type Entry = StoredResponse | ExtraEntry;

function isExtra(v: Entry): v is ExtraEntry {
  return !(v instanceof StoredResponse);
}

export class CacheStore {
  readonly #lru: LRUCache<string, Entry>;
  readonly #variants = new Map<string, Variants>();
  readonly #tags = new Map<string, Set<string>>();
  readonly #maxEntry: number;
  readonly #maxSize: number;
  readonly #arena: BodyArena;

  constructor(opts: StoreOptions) {
    this.#maxEntry = Math.max(1, Math.min(opts.maxObjectSize, opts.maxSize));
    this.#maxSize = Math.max(1, opts.maxSize);
    this.#arena = new BodyArena(this.#maxSize);
    const onEvict = opts.onEvict;
    this.#lru = new LRUCache<string, Entry>({
      maxSize: this.#maxSize,
      maxEntrySize: this.#maxEntry,
      sizeCalculation: (v) => v.size,
      dispose: (value, key, reason) => {
        if (!isExtra(value)) {
          this.#unindex(value, key);
          value.releaseBody(this.#arena);
        }
        if (reason === 'evict') onEvict?.();
      },
    });
  }

  /** Largest object size accepted (bytes counted as in StoredResponse.size). */
  get maxObjectSize(): number {
    return this.#maxEntry;
  }

  /**
   * The stored response selected for a request (RFC 9111 §4.1): by primary key, then, if the
   * responses stored there vary, by the request's values of the Vary fields. Marks it most
   * recently used.
   */
  lookup(primary: string, headers: HeaderMap): StoredResponse | undefined {
    if (this.#variants.size !== 0) {
      const v = this.#variants.get(primary);
      if (v !== undefined) return this.#lru.get(`${primary}\u0000${secondaryKey(v.names, headers)}`) as StoredResponse | undefined;
    }
    return this.#lru.get(primary) as StoredResponse | undefined;
  }

  /** Whether responses varying on request fields are stored for this primary key. */
  hasVariants(primary: string): boolean {
    return this.#variants.has(primary);
  }

  /**
   * Stores (or replaces) a response. A response whose Vary list differs from the one stored
   * for its primary key replaces all of those variants: a cache selects with the Vary of the
   * stored responses, and one list per URL keeps selection a single lookup.
   * Returns false when the object is too large to store.
   */
  set(entry: StoredResponse): boolean {
    if (entry.size > this.#maxEntry) return false;
    const primary = entry.primary;
    const existing = this.#variants.get(primary);
    if (entry.varyNames === undefined) {
      if (existing !== undefined) this.#deleteVariants(primary, existing);
    } else {
      if (existing !== undefined && !sameNames(existing.names, entry.varyNames)) this.#deleteVariants(primary, existing);
      this.#lru.delete(primary); // a response stored before the URL started to vary
    }
    entry.adoptBody(this.#arena);
    this.#lru.set(entry.key, entry);
    if (entry.varyNames !== undefined) {
      let v = this.#variants.get(primary);
      if (v === undefined) {
        v = { names: entry.varyNames, keys: new Set() };
        this.#variants.set(primary, v);
      }
      v.keys.add(entry.key);
    }
    for (const t of entry.tags) {
      let keys = this.#tags.get(t);
      if (keys === undefined) {
        keys = new Set();
        this.#tags.set(t, keys);
      }
      keys.add(entry.key);
    }
    this.#settle();
    return true;
  }

  /** Removes one object if it is still the one stored under its key. */
  remove(entry: StoredResponse): void {
    if (this.#lru.peek(entry.key) === entry) {
      this.#lru.delete(entry.key);
      this.#settle();
    }
  }

  /** All objects of a primary key (every variant): deleted, or marked stale when soft. */
  purgePrimary(primary: string, soft: boolean): number {
    const keys: string[] = [];
    if (this.#lru.has(primary)) keys.push(primary);
    const v = this.#variants.get(primary);
    if (v !== undefined) keys.push(...v.keys);
    return this.#purgeKeys(keys, soft);
  }

  /** All objects whose key starts with a key prefix (see keyPrefix in key.ts). */
  purgePrefix(prefix: string, soft: boolean): number {
    const keys: string[] = [];
    for (const k of this.#lru.keys()) if (k.startsWith(prefix)) keys.push(k);
    return this.#purgeKeys(keys, soft);
  }

  purgeTag(tag: string, soft: boolean): number {
    const keys = this.#tags.get(tag);
    return keys === undefined ? 0 : this.#purgeKeys([...keys], soft);
  }

  purgeAll(soft: boolean): number {
    const n = this.#lru.size;
    if (soft) {
      for (const v of this.#lru.values()) if (!isExtra(v)) v.invalidated = true;
    } else {
      this.#lru.clear();
      this.#variants.clear();
      this.#tags.clear();
    }
    return n;
  }

  /** A static file (or other non-response object) in the same budget; key must start with "static:". */
  getExtra<T>(key: string): T | undefined {
    const v = this.#lru.get(key);
    return v !== undefined && isExtra(v) ? (v.value as T) : undefined;
  }

  setExtra(key: string, value: unknown, size: number): boolean {
    if (size > this.#maxEntry) return false;
    this.#lru.set(key, { kind: 'extra', value, size: Math.max(1, size) });
    this.#settle();
    return true;
  }

  deleteExtra(key: string): void {
    if (this.#lru.delete(key)) this.#settle();
  }

  get objects(): number {
    return this.#lru.size;
  }

  /** Bytes retained: the objects' sizes plus the arena's waste. Never above maxSize after a change. */
  get bytes(): number {
    return this.#lru.calculatedSize + this.#arena.waste;
  }

  /** How the packed bodies use their slabs (for tests and diagnostics). */
  get arena(): { slabs: number; retained: number; waste: number; holes: number; compactAbove: number } {
    const a = this.#arena;
    return { slabs: a.slabs, retained: a.retained, waste: a.waste, holes: a.holes, compactAbove: a.compactAbove };
  }

  /**
   * After a change: compact the arena when its holes are too many (the bodies of its
   * sparsest slabs are copied into the current one; one pass over the objects), then evict
   * least recently used objects while objects plus waste exceed maxSize. An eviction can
   * leave a hole, but its object's size counted more than its body, so the total falls and
   * the loop ends.
   */
  #settle(): void {
    for (;;) {
      const sparse = this.#arena.sparseSlabs();
      if (sparse !== undefined) {
        for (const v of this.#lru.values()) {
          if (isExtra(v)) continue;
          const slab = v.slab;
          if (slab !== undefined && sparse.has(slab)) {
            v.releaseBody(this.#arena);
            v.adoptBody(this.#arena);
          }
        }
      }
      if (this.#lru.size === 0 || this.#lru.calculatedSize + this.#arena.waste <= this.#maxSize) return;
      this.#lru.pop();
    }
  }

  #purgeKeys(keys: readonly string[], soft: boolean): number {
    let n = 0;
    for (const k of keys) {
      const v = this.#lru.peek(k);
      if (v === undefined || isExtra(v)) continue;
      if (soft) v.invalidated = true;
      else this.#lru.delete(k);
      n++;
    }
    if (!soft && n > 0) this.#settle();
    return n;
  }

  /** Settled by the caller (set). */
  #deleteVariants(primary: string, v: Variants): void {
    for (const k of [...v.keys]) this.#lru.delete(k);
    this.#variants.delete(primary);
  }

  #unindex(value: StoredResponse, key: string): void {
    if (key !== value.primary) {
      const v = this.#variants.get(value.primary);
      if (v !== undefined) {
        v.keys.delete(key);
        if (v.keys.size === 0) this.#variants.delete(value.primary);
      }
    }
    for (const t of value.tags) {
      const keys = this.#tags.get(t);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.#tags.delete(t);
    }
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
