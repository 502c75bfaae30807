// The shared origin: plain HTTP/1.1 on loopback, the same for every subject. GET /1k and
// /100k (any query) answer 1 KiB / 100 KiB with `Cache-Control: public, max-age=3600` so
// caches store them; a unique query per request makes a real miss that is then stored.
// Run as a child process (`node dist/bench/origin.js [port]`); prints {"ready":{"port":N}}.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CACHEABLE_HEADERS, bodyOf, sizeForTarget } from './body.js';

export function createOrigin(): Server {
  const bodies = new Map<number, Buffer>();
  const server = createServer((req, res) => {
    const size = sizeForTarget(req.url ?? '/');
    if (size === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 });
      res.end('not found\n');
      return;
    }
    let body = bodies.get(size);
    if (!body) { body = bodyOf(size); bodies.set(size, body); }
    // Literal first, not a spread-first copy: cheaper (see bare-node-server.ts), and the origin
    // shares the generator's core.
    res.writeHead(200, { 'content-length': size, ...CACHEABLE_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  // Forwarders keep pooled connections for a long time; never close one under them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  return server;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const server = createOrigin();
  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
  });
  process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
}
