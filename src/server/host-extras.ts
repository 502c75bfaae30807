// Per-host parts beyond the origins: static files and the cache. Kept apart from runtime.ts
// so each can be built (and tested) on its own.
import type { Config, HostConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WorkerMetrics } from '../metrics.js';
import type { CacheLayer, StaticFiles } from '../proxy/virtual-host.js';

export interface HostExtras {
  static?: StaticFiles;
  cache?: CacheLayer;
}

export function buildHostExtras(_config: Readonly<Config>, _host: HostConfig, _deps: { log: Logger; metrics: WorkerMetrics }): HostExtras {
  return {};
}
