// The admin plane: a separate plain-HTTP listener, loopback by default. /healthz and /readyz
// stay open (the sidecar and load balancers probe them and they reveal nothing secret);
// everything else needs the bearer token when one is configured.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NodeHealth } from './node-health.js';

export interface AdminDeps {
  log: Logger;
  registry: Registry;
  health: NodeHealth;
  drain: () => void;
  purge: (kind: 'url' | 'prefix' | 'tag' | 'all', value: string, soft: boolean) => Promise<{ count: number; workers: number }>;
}

export interface AdminServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

const MAX_ADMIN_BODY = 64 * 1024;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const got = Buffer.from(req.headers.authorization ?? '');
  const want = Buffer.from(`Bearer ${token}`);
  return got.length === want.length && timingSafeEqual(got, want);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_ADMIN_BODY) throw new Error('body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

export async function startAdminServer(config: Readonly<Config>, deps: AdminDeps): Promise<AdminServer> {
  const aggregator = new AggregatorRegistry();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end('ok\n');
      return;
    }
    if (path === '/readyz') {
      deps.health.readiness().then(
        ({ httpStatus, ...body }) => json(res, httpStatus, body),
        (err: unknown) => json(res, 503, { ready: false, state: 'failing', reasons: [`readiness could not be computed: ${(err as Error).message}`] }),
      );
      return;
    }
    if (!authorized(req, config.admin.token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' });
      res.end('401 Unauthorized: this admin endpoint needs "Authorization: Bearer <admin.token>"\n');
      return;
    }
    if (path === '/metrics' && req.method === 'GET') {
      Promise.all([deps.registry.metrics(), aggregator.clusterMetrics()])
        .then(([own, workers]) => {
          res.writeHead(200, { 'content-type': deps.registry.contentType });
          res.end(`${own}\n${workers}`);
        })
        .catch((err: unknown) => json(res, 500, { error: `metrics collection failed: ${(err as Error).message}` }));
      return;
    }
    if (path === '/drain' && req.method === 'POST') {
      deps.drain();
      json(res, 202, { draining: true });
      return;
    }
    if (path === '/purge' && req.method === 'POST') {
      readJson(req)
        .then(async (body) => {
          const b = body as { url?: unknown; prefix?: unknown; tag?: unknown; all?: unknown; soft?: unknown };
          const soft = b.soft === true;
          const kinds = (['url', 'prefix', 'tag'] as const).filter((k) => typeof b[k] === 'string');
          if (b.all === true && kinds.length === 0) return json(res, 200, { purged: 'all', soft, ...(await deps.purge('all', '', soft)) });
          if (kinds.length !== 1) return json(res, 400, { error: 'give exactly one of "url", "prefix", "tag" (strings) or "all": true; "soft": true marks stale instead of removing' });
          const kind = kinds[0]!;
          const value = b[kind] as string;
          if ((kind === 'url' || kind === 'prefix') && !/^https?:\/\/[^/]+/.test(value)) return json(res, 400, { error: `"${kind}" must be an absolute URL like https://example.com/path` });
          return json(res, 200, { purged: kind, value, soft, ...(await deps.purge(kind, value, soft)) });
        })
        .catch((err: unknown) => json(res, 400, { error: `invalid purge request: ${(err as Error).message}` }));
      return;
    }
    json(res, 404, { error: `no admin endpoint ${req.method} ${path}`, endpoints: ['GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /drain', 'POST /purge'] });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.admin.port, config.admin.address, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: addr.address,
    port: addr.port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
