// Assembles one serving process (a cluster worker, or the whole node in tests): certificate
// set, virtual hosts with their origins, static files and cache, the pipeline, listeners.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { reportLoadFrom, workerMetrics, type WorkerMetrics } from '../metrics.js';
import { HostRouter } from '../proxy/hosts.js';
import { Pipeline, type PipelineState } from '../proxy/pipeline.js';
import type { VirtualHost } from '../proxy/virtual-host.js';
import { closeOrigins, Origin, OriginGroup } from '../upstream/origin-pool.js';
import { createUpgradeHandler } from '../upstream/websocket.js';
import { EdgeServer, type BoundListener } from './edge-server.js';
import { CertificateSet } from './tls.js';
import { buildHostExtras } from './host-extras.js';
import { OverloadManager } from '../overload/manager.js';
import { ConnectionAdmission, loopWaitSince, loopUtilizationSince } from '../overload/admission.js';
import { EdgeCache } from '../cache/edge-cache.js';

export interface RuntimeOptions {
  /** 48 bytes shared by all workers of the node (and nodes, with tls.ticketKeyFile). */
  ticketKeys: Buffer;
  log: Logger;
  metrics?: WorkerMetrics;
}

export interface Runtime {
  readonly config: Readonly<Config>;
  readonly edge: EdgeServer;
  readonly pipeline: Pipeline;
  readonly state: PipelineState;
  readonly hosts: readonly VirtualHost[];
  /** Every origin, by URL (one pool each per process). */
  readonly origins: ReadonlyMap<string, Origin>;
  readonly overload: OverloadManager;
  /** Connection admission (absent when overload or overload.admission is disabled). */
  readonly admission: ConnectionAdmission | undefined;
  listen(): Promise<BoundListener[]>;
  reloadCertificates(): void;
  /** Graceful stop: see EdgeServer.close. Also closes origin pools. */
  close(deadlineMs: number): Promise<{ forced: number }>;
}

export function createRuntime(config: Readonly<Config>, opts: RuntimeOptions): Runtime {
  const metrics = opts.metrics ?? workerMetrics();
  const log = opts.log;
  const certificates = config.listeners.some((l) => l.tls)
    ? new CertificateSet(config.certificates, { minVersion: config.tls.minVersion, ticketKeys: opts.ticketKeys, sessionTimeout: Math.round(config.tls.sessionTimeout / 1000) })
    : undefined;
  const origins = new Map<string, Origin>();
  const originFor = (url: string): Origin => {
    let o = origins.get(url);
    if (!o) { o = new Origin(url, config.origin); origins.set(url, o); }
    return o;
  };
  // One cache per process, shared by every host (the host is part of the key), so
  // cache.maxSize bounds the whole worker.
  const cache = config.cache.enabled ? new EdgeCache(config.cache, { name: config.name, log, metrics }) : undefined;
  // Static files live in the same byte budget as cached responses.
  const staticStore = cache?.staticStore();
  const hosts: VirtualHost[] = config.hosts.map((h) => ({
    config: h,
    origins: new OriginGroup(h.origins.map(originFor)),
    ...buildHostExtras(config, h, { log, metrics, ...(cache && staticStore ? { cache, staticStore } : {}) }),
  }));
  const router = new HostRouter(hosts, config.defaultHost);
  const state: PipelineState = { draining: false };
  // Forward references: the overload manager samples the pipeline and the server.
  let pipeline: Pipeline | undefined;
  let edge: EdgeServer | undefined;
  const load = { inflight: () => pipeline?.inflight ?? 0, connections: () => edge?.openConnections ?? 0 };
  reportLoadFrom(load);
  let admission: ConnectionAdmission | undefined;
  if (config.overload.enabled && config.overload.admission.enabled) {
    const wait = loopWaitSince();
    admission = new ConnectionAdmission(config.overload.admission, {
      open: () => edge?.admittedConnections ?? 0,
      handshaking: () => edge?.handshakingConnections ?? 0,
      requests: () => edge?.requestCount ?? 0,
      busy: () => edge?.busyConnections() ?? 0,
      utilization: loopUtilizationSince(),
      loopWait: wait.read,
      stop: wait.stop,
    });
  }
  const overload = new OverloadManager(config.overload, {
    sources: load,
    log,
    metrics,
    ...(admission ? { admission } : {}),
  });
  pipeline = new Pipeline({ config, router, log, metrics, state, overload });
  edge = new EdgeServer({
    config, pipeline, state, certificates, log, metrics,
    ...(admission ? { admission } : {}),
    upgrade: createUpgradeHandler({ router, name: config.name, trustForwarded: config.trustForwarded, log }),
  });
  const server = edge;
  // Keep-alive off: h1 answers carry Connection: close (the pipeline reads it); h2 clients
  // get GOAWAY now, once, when the action starts.
  let keepAliveWasOff = false;
  overload.on('change', () => {
    if (!keepAliveWasOff && overload.keepAliveDisabled) server.goAwayAll();
    keepAliveWasOff = overload.keepAliveDisabled;
  });
  return {
    config, edge, pipeline, state, hosts, origins, overload, admission,
    listen: async () => {
      const bound = await server.listen();
      overload.start();
      return bound;
    },
    reloadCertificates: () => server.reloadCertificates(),
    async close(deadlineMs) {
      const start = performance.now();
      overload.stop();
      const r = await server.close(deadlineMs);
      // Clients are done or cut by now; origin exchanges get what is left of the deadline.
      await closeOrigins(origins.values(), deadlineMs - (performance.now() - start));
      return r;
    },
  };
}
