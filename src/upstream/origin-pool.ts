// The private link: one undici Pool per origin (keep-alive, bounded connections), origins of a
// host tried round-robin, skipping those the health checker marks down while any is up.
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { OriginLinkConfig } from '../config/schema.js';
import { AnyedgeError, fromUpstreamError } from '../errors.js';

export type OutgoingHeaders = Record<string, string | string[]>;

export interface UpstreamRequest {
  method: string;
  /** origin-form target: path + query */
  target: string;
  headers: OutgoingHeaders;
  /** Streamed request body; null when there is none. */
  body: Readable | null;
  signal?: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  origin: string;
  /** Milliseconds from sending to response headers. */
  durationMs: number;
}

/** RFC 9110 §9.2.2: a retry of these cannot change what the origin did. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

let sharedTls: { key: string; cache: { ca?: Buffer; cert?: Buffer; key?: Buffer } } | undefined;

function tlsFiles(link: OriginLinkConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const key = `${link.ca}|${link.cert}|${link.key}`;
  if (sharedTls?.key !== key) {
    const cache: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    if (link.ca) cache.ca = readFileSync(link.ca);
    if (link.cert) cache.cert = readFileSync(link.cert);
    if (link.key) cache.key = readFileSync(link.key);
    sharedTls = { key, cache };
  }
  return sharedTls.cache;
}

/** undici connect options for an origin URL under the link settings (CA, mTLS, SNI). */
export function connectOptions(link: OriginLinkConfig): NonNullable<Pool.Options['connect']> & object {
  return {
    timeout: link.connectTimeout,
    ...tlsFiles(link),
    ...(link.servername === undefined ? {} : { servername: link.servername }),
    rejectUnauthorized: true,
  };
}

export class Origin {
  readonly url: string;
  readonly pool: Pool;
  /** Set by the health checker; an origin marked down is skipped while another is up. */
  up = true;

  constructor(url: string, link: OriginLinkConfig) {
    this.url = url;
    this.pool = new Pool(url, {
      connections: link.connections,
      keepAliveTimeout: link.keepAliveTimeout,
      keepAliveMaxTimeout: Math.max(link.keepAliveTimeout, 600_000),
      headersTimeout: link.headersTimeout,
      bodyTimeout: link.bodyTimeout,
      connect: connectOptions(link),
      // Never follow anything or retry inside undici: the retry rule is ours (below).
      pipelining: 1,
    });
  }
}

export class OriginGroup {
  readonly origins: readonly Origin[];
  #next = 0;

  constructor(origins: readonly Origin[]) {
    this.origins = origins;
  }

  /** Next origin round-robin, preferring those that are up; all down → still try one. */
  pick(exclude?: Origin): Origin | undefined {
    const n = this.origins.length;
    if (n === 0) return undefined;
    for (let i = 0; i < n; i++) {
      const o = this.origins[(this.#next + i) % n]!;
      if (o.up && o !== exclude) {
        this.#next = (this.#next + i + 1) % n;
        return o;
      }
    }
    const o = this.origins[this.#next++ % n]!;
    return o === exclude && n > 1 ? this.origins[this.#next++ % n] : o;
  }

  /**
   * Sends the request. An idempotent request without a body is retried once, on the next
   * origin, only when the connection failed before anything was sent (refused, unreachable,
   * connect timeout): then the origin cannot have acted on it.
   */
  async request(req: UpstreamRequest, onRetry?: (err: AnyedgeError) => void): Promise<UpstreamResponse> {
    const first = this.pick();
    if (!first) throw new AnyedgeError('NO_ORIGIN', 'this host has no origin configured');
    try {
      return await send(first, req);
    } catch (err) {
      if (!(err instanceof AnyedgeError) || !err.retryable || req.body !== null || !IDEMPOTENT.has(req.method) || req.signal?.aborted) throw err;
      onRetry?.(err);
      const second = this.pick(first) ?? first;
      return send(second, req);
    }
  }
}

async function send(origin: Origin, req: UpstreamRequest): Promise<UpstreamResponse> {
  const started = performance.now();
  let res: Dispatcher.ResponseData;
  try {
    res = await origin.pool.request({
      method: req.method as Dispatcher.HttpMethod,
      path: req.target,
      headers: req.headers,
      body: req.body,
      signal: req.signal ?? null,
    });
  } catch (err) {
    if (err instanceof AnyedgeError) throw err; // e.g. body over the limit, raised by our counter
    if ((err as { name?: string }).name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED') {
      throw new AnyedgeError('CLIENT_ABORTED', 'client went away before the origin answered', { cause: err });
    }
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof AnyedgeError) throw cause;
    throw fromUpstreamError(err, origin.url);
  }
  return { status: res.statusCode, headers: res.headers, body: res.body, origin: origin.url, durationMs: performance.now() - started };
}

export function closeOrigins(origins: Iterable<Origin>): Promise<void> {
  return Promise.all([...origins].map((o) => o.pool.close().catch(() => undefined))).then(() => undefined);
}
