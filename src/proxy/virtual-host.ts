// A configured host as the pipeline sees it: its origins, and optionally static files and a
// cache. The interfaces name only what the pipeline calls, so each part stays replaceable.
import type { Readable } from 'node:stream';
import type { HostConfig } from '../config/schema.js';
import type { OriginGroup } from '../upstream/origin-pool.js';

type Headers = Record<string, string | string[] | undefined>;

export interface StaticFiles {
  /** false when handle() would surely answer undefined (the target is not under the prefix): lets the pipeline skip it. */
  covers(target: string): boolean;
  /** undefined: not a static path here (the pipeline goes on to the origin). */
  handle(req: { method: string; target: string; headers: Headers }): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer | null } | undefined>;
}

export interface CacheLayer {
  handle(
    req: { method: string; scheme: 'https' | 'http'; host: string; target: string; headers: Headers },
    fetchOrigin: (up: { method: string; target: string; headers: Headers }, signal?: AbortSignal) => Promise<{ status: number; headers: Headers; body: Readable | null }>,
    signal?: AbortSignal,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer | Readable | null; cacheStatus: string; result: string }>;
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
