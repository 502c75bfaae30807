// The sidecar's own /metrics (it is a separate process with its own registry).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseAddressPort } from './sidecar-config.js';

export interface MetricsListener {
  /** The bound address (port resolved when 0 was asked for). */
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startMetricsListener(addressPort: string, registry: Registry): Promise<MetricsListener> {
  const where = parseAddressPort(addressPort);
  if (!where) throw new Error(`metrics: expected ADDR:PORT, got ${JSON.stringify(addressPort)}`);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
