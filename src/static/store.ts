// Where the static site keeps file contents: a byte-bounded store, by default its own
// lru-cache; the edge cache can pass its shared store instead so both live in one budget.
import { LRUCache } from 'lru-cache';

/** One file's bytes as read from disk, with what identifies that version of it. */
export interface StaticFile {
  readonly body: Buffer;
  /** Strong ETag of exactly these bytes. */
  readonly etag: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/**
 * The minimum the static site needs from a store. Keys start with "static:". `set` may
 * drop an entry (too large, evicted at once); the site then reads from disk next time.
 */
export interface StaticStore {
  get(key: string): StaticFile | undefined;
  set(key: string, file: StaticFile, sizeBytes: number): void;
  delete(key: string): void;
}

/**
 * An lru-cache bounded by bytes. One file may take at most a quarter of it, so a large
 * video cannot flush every stylesheet.
 */
export function createStaticStore(maxBytes: number): StaticStore {
  const lru = new LRUCache<string, StaticFile>({ maxSize: maxBytes, maxEntrySize: Math.max(1, Math.floor(maxBytes / 4)) });
  return {
    get: (key) => lru.get(key),
    set: (key, file, sizeBytes) => { lru.set(key, file, { size: Math.max(1, sizeBytes) }); },
    delete: (key) => { lru.delete(key); },
  };
}
