// A configured host as the pipeline sees it: its origins, and optionally static files and a
// cache. The interfaces name only what the pipeline calls, so each part stays replaceable.
import type { Readable } from 'node:stream';
import type { HostConfig } from '../config/schema.js';
import type { OriginGroup } from '../upstream/origin-pool.js';

type Headers = Record<string, string | string[] | undefined>;

export interface StaticFiles {
  /** false when handle() would surely answer undefined (the target is not under the prefix): lets the pipeline skip it. */
  covers(target: string): boolean;
  /**
   * undefined: not a static path here (the pipeline goes on to the origin). An answer from
   * memory comes as it is, in the same turn; one that needs the disk as a promise.
   */
  serve(req: { method: string; target: string; headers: Headers }): StaticAnswer | Promise<StaticAnswer | undefined>;
}

export interface StaticAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
}

/** What the cache answers: a fresh object the pipeline may add headers to. */
export interface CacheAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | Readable | null;
  cacheStatus: string;
  result: string;
}

export interface CacheLayer {
  /** A hit (or stale answer) as it is, in the same turn; a promise when the origin is involved; errors as a rejected promise. */
  serve(
    req: { method: string; scheme: 'https' | 'http'; host: string; target: string; headers: Headers },
    fetchOrigin: (up: { method: string; target: string; headers: Headers }, signal?: AbortSignal) => Promise<{ status: number; headers: Headers; body: Readable | null }>,
    signal?: AbortSignal,
  ): CacheAnswer | Promise<CacheAnswer>;
  invalidateAfterUnsafe(req: { method: string; scheme: string; host: string; target: string; headers: Headers }, status: number, headers: Headers): void;
  /** Purge across this worker's store; returns how many objects were removed or marked stale. */
  purge?(kind: 'url' | 'prefix' | 'tag' | 'all', value: string, soft: boolean): number;
}

export interface VirtualHost {
  config: HostConfig;
  origins: OriginGroup;
  static?: StaticFiles;
  cache?: CacheLayer;
}
