// `anyedge sidecar`: wires config, probe, speaker, metrics and signals around the Sidecar
// loop. Resolves once the route is withdrawn after SIGTERM/SIGINT, an aborted `signal`, or
// the speaker going away (ExaBGP closed our stdin).
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../log.js';
import { sidecarMetrics } from '../metrics.js';
import { AnyedgeError } from '../errors.js';
import { realTimers, sleep, type Now, type Timers } from './clock.js';
import { BirdDriver } from './drivers/bird-driver.js';
import { ExabgpDriver } from './drivers/exabgp-driver.js';
import { LogDriver } from './drivers/log-driver.js';
import type { RouteDriver } from './drivers/route-driver.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';
import { createReadyzProbe, type Probe } from './probe.js';
import { Sidecar } from './sidecar.js';
import { sidecarConfigProblems, type SidecarRunConfig } from './sidecar-config.js';
import { createSidecarLogger } from './sidecar-logger.js';

export interface RunSidecarOptions {
  /** Must not write to stdout with the exabgp speaker. Default: createSidecarLogger(). */
  log?: Logger;
  /** Stops the sidecar (withdraw, then resolve). Without it, SIGTERM and SIGINT do. */
  signal?: AbortSignal;
  now?: Now;
  timers?: Timers;
  /** Tests: replace the HTTP probe or the speaker. */
  probe?: Probe;
  driver?: RouteDriver;
  /** The ExaBGP pipes; default process.stdin / process.stdout. */
  stdin?: Readable;
  stdout?: Writable;
  /** Called once the metrics listener is bound (tests use port 0). */
  onMetricsListening?: (listener: MetricsListener) => void;
}

/** Bound on the final withdrawal: a hung speaker must not keep the process alive. */
const EXIT_WITHDRAW_TIMEOUT = 3000;

export function createDriver(cfg: SidecarRunConfig, log: Logger, io: { stdin?: Readable; stdout?: Writable } = {}): RouteDriver {
  switch (cfg.speaker) {
    case 'log':
      return new LogDriver({ prefixes: cfg.prefixes, prepend: cfg.prepend, log });
    case 'bird':
      return new BirdDriver({
        socket: cfg.birdSocket,
        protocol: cfg.birdProtocol,
        prependProtocol: cfg.prepend > 0 ? (cfg.birdPrependProtocol ?? `${cfg.birdProtocol}_prepend`) : undefined,
        log,
      });
    case 'exabgp':
      return new ExabgpDriver({
        input: io.stdin ?? process.stdin,
        output: io.stdout ?? process.stdout,
        prefixes: cfg.prefixes,
        nextHop: cfg.nextHop,
        prepend: cfg.prepend,
        localAs: cfg.localAs,
        log,
      });
  }
}

export async function runSidecar(cfg: SidecarRunConfig, opts: RunSidecarOptions = {}): Promise<void> {
  const problems = sidecarConfigProblems(cfg);
  if (problems.length) throw new AnyedgeError('CONFIG', `sidecar configuration: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);

  const log = opts.log ?? createSidecarLogger();
  const now = opts.now ?? Date.now;
  const timers = opts.timers ?? realTimers;
  const { registry, metrics } = sidecarMetrics();

  // One controller for every way to stop; its reason is logged with the EXIT transition.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => stop.abort(sig);
  const ownSignals = opts.signal === undefined;
  if (ownSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  } else if (opts.signal?.aborted) {
    stop.abort(opts.signal.reason);
  } else {
    opts.signal?.addEventListener('abort', () => stop.abort(opts.signal?.reason), { once: true });
  }

  let listener: MetricsListener | undefined;
  const driver = opts.driver ?? createDriver(cfg, log, { ...(opts.stdin ? { stdin: opts.stdin } : {}), ...(opts.stdout ? { stdout: opts.stdout } : {}) });
  void driver.gone.then((why) => stop.abort(why));
  const probe = opts.probe ?? createReadyzProbe({ url: cfg.readyz, timeout: cfg.timeout, ...(cfg.token === undefined ? {} : { token: cfg.token }) });
  const sidecar = new Sidecar(cfg, { probe, driver, log, metrics, now });

  try {
    if (cfg.metrics !== undefined) {
      listener = await startMetricsListener(cfg.metrics, registry);
      log.info({ address: `${listener.address.address}:${listener.address.port}` }, 'sidecar metrics listening');
      opts.onMetricsListening?.(listener);
    }
    log.info(
      { speaker: cfg.speaker, prefixes: cfg.prefixes, readyz: cfg.readyz, interval: cfg.interval, fastInterval: cfg.fastInterval, rise: cfg.rise, fall: cfg.fall, timeout: cfg.timeout, prepend: cfg.prepend, dampening: cfg.dampening },
      'sidecar starting',
    );
    await sidecar.start();
    let lastRefresh = now();
    while (!stop.signal.aborted) {
      await sidecar.tick(stop.signal);
      if (stop.signal.aborted) break;
      // (A failed route change is retried by the next tick itself.)
      if (now() - lastRefresh >= cfg.refresh) {
        lastRefresh = now();
        await sidecar.refresh();
      }
      await sleep(sidecar.nextDelay(), timers, stop.signal);
    }
  } finally {
    const reason = describeReason(stop.signal.reason);
    await withTimeout(sidecar.stop(reason), EXIT_WITHDRAW_TIMEOUT, timers).catch((err: unknown) => log.error({ err }, 'withdrawal on exit failed'));
    if (ownSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    await listener?.close();
    log.info({ reason }, 'sidecar stopped');
  }
}

function describeReason(reason: unknown): string {
  if (reason === undefined) return 'stopped';
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return String(reason);
}

function withTimeout<T>(p: Promise<T>, ms: number, timers: Timers): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = timers.setTimeout(() => reject(new Error(`gave up after ${ms}ms`)), ms);
    p.then(
      (v) => { timers.clearTimeout(t); resolve(v); },
      (e: unknown) => { timers.clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); },
    );
  });
}
