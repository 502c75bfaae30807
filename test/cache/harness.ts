// Test harness for EdgeCache behaviour tests: a real node:http origin on 127.0.0.1:0 that
// counts requests, a FetchOrigin over undici against it, an injected clock and a few
// helpers to read what a client would see.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { Counter, Gauge, Registry } from 'prom-client';
import { cacheSchema, type CacheConfig } from '../../src/config/schema.js';
import { fromUpstreamError } from '../../src/errors.js';
import { EdgeCache, type CacheMetrics, type CacheRequest, type CacheResponse, type FetchOrigin } from '../../src/cache/edge-cache.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

export interface Origin {
  url: string;
  /** Requests received, in order. */
  seen: SeenRequest[];
  readonly count: number;
  handler: Handler;
  close(): Promise<void>;
}

export async function startOrigin(handler: Handler): Promise<Origin> {
  const sockets = new Set<Socket>();
  const holder: { server?: Server } = {};
  const origin: Origin = {
    url: '',
    seen: [],
    get count() { return origin.seen.length; },
    handler,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => holder.server?.close(() => r()));
    },
  };
  const server = createServer((req, res) => {
    origin.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    Promise.resolve(origin.handler(req, res, origin.seen.length)).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : undefined);
    });
  });
  holder.server = server;
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

/** FetchOrigin over undici, mapping failures the way the pipeline does (AnyedgeError, source upstream). */
export function undiciFetch(origin: Origin, agent: Agent): FetchOrigin {
  return async (up, signal) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (v === undefined || k === 'host' || k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding') continue;
      headers[k] = v;
    }
    try {
      const r = await request(`${origin.url}${up.target}`, { method: up.method as 'GET', headers, signal: signal ?? null, dispatcher: agent });
      return { status: r.statusCode, headers: r.headers as Record<string, string | string[] | undefined>, body: r.body as unknown as Readable };
    } catch (err) {
      throw fromUpstreamError(err, origin.url);
    }
  };
}

/** A clock the test moves by hand. Starts at the real time so HTTP dates look plausible. */
export class Clock {
  t = Math.floor(Date.now() / 1000) * 1000;
  readonly now = (): number => this.t;
  advance(seconds: number): void { this.t += seconds * 1000; }
  /** An HTTP-date `offset` seconds from the clock's now. */
  date(offset = 0): string { return new Date(this.t + offset * 1000).toUTCString(); }
}

/** Cache metrics in a private registry, so tests can read them without global state. */
export function testMetrics(): { metrics: CacheMetrics; registry: Registry } {
  const registry = new Registry();
  const r = [registry];
  return {
    registry,
    metrics: {
      cacheLookups: new Counter({ name: 'lookups', help: 'h', labelNames: ['result'] as const, registers: r }),
      cacheCoalesced: new Counter({ name: 'coalesced', help: 'h', registers: r }),
      cacheStoredBytes: new Gauge({ name: 'bytes', help: 'h', registers: r }),
      cacheStoredObjects: new Gauge({ name: 'objects', help: 'h', registers: r }),
      cacheEvictions: new Counter({ name: 'evictions', help: 'h', registers: r }),
      cachePurged: new Counter({ name: 'purged', help: 'h', labelNames: ['kind'] as const, registers: r }),
    },
  };
}

export function config(overrides: Partial<CacheConfig> = {}): CacheConfig {
  return { ...cacheSchema.parse({}), ...overrides };
}

export interface Fixture {
  origin: Origin;
  clock: Clock;
  cache: EdgeCache;
  metrics: CacheMetrics;
  fetch: FetchOrigin;
  /** A GET (or other method) as a client at https://example.com would send it. */
  get(target: string, headers?: Record<string, string | string[]>, method?: string): Promise<Seen>;
  close(): Promise<void>;
}

/** What a client sees: status, headers, the whole body as text, plus the cache's log word. */
export interface Seen {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  bodyKind: 'buffer' | 'stream' | 'none';
  cacheStatus: string;
  result: string;
}

export async function read(r: CacheResponse): Promise<Seen> {
  let body = '';
  let bodyKind: Seen['bodyKind'] = 'none';
  if (Buffer.isBuffer(r.body)) { body = r.body.toString(); bodyKind = 'buffer'; }
  else if (r.body !== null) {
    bodyKind = 'stream';
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c as Buffer);
    body = Buffer.concat(chunks).toString();
  }
  return { status: r.status, headers: r.headers, body, bodyKind, cacheStatus: r.cacheStatus, result: r.result };
}

export function cacheRequest(target: string, headers: Record<string, string | string[]> = {}, method = 'GET'): CacheRequest {
  return { method, scheme: 'https', host: 'example.com', target, headers: { host: 'example.com', ...headers } };
}

export async function fixture(handler: Handler, cfg: Partial<CacheConfig> = {}): Promise<Fixture> {
  const origin = await startOrigin(handler);
  const clock = new Clock();
  const { metrics } = testMetrics();
  const cache = new EdgeCache(config(cfg), { now: clock.now, metrics });
  const agent = new Agent({ keepAliveTimeout: 1000 });
  const fetch = undiciFetch(origin, agent);
  return {
    origin, clock, cache, metrics, fetch,
    get: async (target, headers = {}, method = 'GET') => read(await cache.handle(cacheRequest(target, headers, method), fetch)),
    close: async () => {
      await cache.settled();
      await agent.close();
      await origin.close();
    },
  };
}

/** A promise with its resolve function, for holding an origin response until the test says so. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Sends a body from the origin with the given headers. */
export function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body = ''): void {
  res.writeHead(status, headers);
  res.end(body);
}

export { Readable };
