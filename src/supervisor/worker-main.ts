// Entry point of a cluster worker: serve traffic, report status, obey the supervisor.
// The worker never decides to stop on its own signals: the supervisor sequences the drain.
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { flushLogger, createLogger } from '../log.js';
import type { Config } from '../config/schema.js';
import { createRuntime } from '../server/runtime.js';
import { ENV_CONFIG, ENV_TICKET_KEYS, ENV_WORKER_INDEX, type FromWorker, type ToWorker, type WorkerStatus } from './ipc.js';

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

export async function runWorker(): Promise<void> {
  const config = JSON.parse(process.env[ENV_CONFIG] ?? '{}') as Config;
  const ticketKeys = Buffer.from(process.env[ENV_TICKET_KEYS] ?? '', 'hex');
  const index = Number(process.env[ENV_WORKER_INDEX] ?? cluster.worker?.id ?? 0);
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty, base: { worker: index }, batched: true });
  // Constructing it installs prom-client's answer to the supervisor's metrics requests.
  new AggregatorRegistry();
  const runtime = createRuntime(config, { ticketKeys, log });
  let stopping = false;

  const stop = async (deadlineMs: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ why, inflight: runtime.pipeline.inflight, connections: runtime.edge.openConnections }, 'worker closing');
    const { forced } = await runtime.close(deadlineMs);
    log.info({ forced }, 'worker closed');
    flushLogger(log);
    process.exit(0);
  };

  process.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'shutdown':
        void stop(m.deadlineMs, 'supervisor shutdown');
        break;
      case 'reload-certificates':
        try {
          runtime.reloadCertificates();
          send({ type: 'reload-result', id: m.id, ok: true });
        } catch (err) {
          send({ type: 'reload-result', id: m.id, ok: false, error: (err as Error).message });
        }
        break;
      case 'purge': {
        let count = 0;
        for (const h of runtime.hosts) count += h.cache?.purge?.(m.kind, m.value, m.soft) ?? 0;
        send({ type: 'purge-result', id: m.id, count });
        break;
      }
      case 'origin-health': {
        const o = runtime.origins.get(m.url);
        if (o) o.up = m.up;
        break;
      }
    }
  });
  // Ctrl-C reaches the whole process group; the supervisor decides what happens.
  process.on('SIGINT', () => undefined);
  // Sent to a worker directly: finish in-flight work, then go (the supervisor replaces it).
  process.on('SIGTERM', () => void stop(config.shutdown.deadline, 'SIGTERM'));
  // The supervisor is gone: nobody can replace or steer us; finish and exit.
  process.on('disconnect', () => void stop(Math.min(config.shutdown.deadline, 5000), 'supervisor disconnected'));

  const listeners = await runtime.listen();
  send({ type: 'listening', listeners: listeners.map((l) => ({ address: l.address, port: l.port, tls: l.tls })) });
  const report = (): void => {
    const snap = runtime.overload.snapshot();
    const s: WorkerStatus = { inflight: runtime.pipeline.inflight, connections: runtime.edge.openConnections, overload: snap.level, actions: snap.actions, pressure: snap.pressure };
    send({ type: 'status', status: s });
  };
  report();
  setInterval(report, 500).unref();
  // A change of level reaches readiness at once, not at the next report.
  runtime.overload.on('change', report);
}

if (cluster.isWorker) {
  runWorker().catch((err: unknown) => {
    console.error(`anyedge worker failed to start: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
