// Per-host parts beyond the origins: static files and the cache. Kept apart from runtime.ts
// so each can be built (and tested) on its own.
import type { Config, HostConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WorkerMetrics } from '../metrics.js';
import type { CacheLayer, StaticFiles } from '../proxy/virtual-host.js';
import { StaticSite } from '../static/static-site.js';
import type { StaticStore } from '../static/store.js';

export interface HostExtras {
  static?: StaticFiles;
  cache?: CacheLayer;
}

export interface SharedParts {
  log: Logger;
  metrics: WorkerMetrics;
  /** The process's byte-bounded store for static files (shared by every host). */
  staticStore?: StaticStore;
  /** The process's cache, shared by every host: its key includes scheme and host. */
  cache?: CacheLayer;
}

export function buildHostExtras(_config: Readonly<Config>, host: HostConfig, shared: SharedParts): HostExtras {
  const extras: HostExtras = {};
  if (host.static) extras.static = new StaticSite(host.static, shared.staticStore ? { store: shared.staticStore } : {});
  if (shared.cache && host.origins.length > 0) extras.cache = shared.cache;
  return extras;
}
