// The one file that sequences a request's phases (Pingora's process_request):
//   1 request filter  limits, Host/authority check (no open proxy), request id
//   2 static          files served at the edge for hosts that configure a directory
//   3 cache           RFC 9111 lookup; a miss goes to 4 through the cache (coalesced)
//   4 upstream        undici pool over the private link
//   5 response filter hop-by-hop stripped, Via, Cache-Status, Age, request id
//   6 log             one line per request, always, with the error if any
// Any error goes to failToProxy(), which alone turns it into a status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline as pump } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import { AnyedgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { STATUS_CLASSES, classIndex, type BucketHistogramChild, type RequestTally, type WorkerMetrics } from '../metrics.js';
import type { AbortLike, OriginGroup, UpstreamRequest, UpstreamResponse } from '../upstream/origin-pool.js';
import { BodyLimit } from './body-limit.js';
import { newRequestId, type EdgeRequest, type EdgeResponse, type RequestContext } from './context.js';
import { failToProxy } from './fail.js';
import { requestIdFrom, responseHeadersFromRaw, upstreamRequestHeaders } from './filters/headers.js';
import { H2Request, H2Response } from './h2-stream.js';
import type { HostRouter } from './hosts.js';
import { requestFilter, type RequestLimits } from './request-filter.js';
import type { CacheAnswer, StaticAnswer, VirtualHost } from './virtual-host.js';


export interface PipelineState {
  /** Draining: every response closes its connection. */
  draining: boolean;
}

/** What the pipeline reads from the overload manager (src/overload/manager.ts). */
export interface ShedPoints {
  /** Keep-alive off: HTTP/1.1 answers carry Connection: close. */
  readonly keepAliveDisabled: boolean;
  /** Origin-bound requests are answered with shedError() (503 + Retry-After). */
  readonly shedOrigin: boolean;
  shedError(): AnyedgeError;
  /** After each origin exchange: feeds the origin error rate monitor. */
  recordOriginResult(ok: boolean): void;
}

export interface PipelineDeps {
  config: Readonly<Config>;
  router: HostRouter<VirtualHost>;
  log: Logger;
  metrics: WorkerMetrics;
  state: PipelineState;
  overload: ShedPoints;
}

export class Pipeline {
  readonly #deps: PipelineDeps;
  readonly #limits: RequestLimits;
  readonly #name: string;
  #inflight = 0;
  /** Histogram children looked up once, not per request. */
  readonly #durations: readonly BucketHistogramChild[];
  readonly #tally: RequestTally;
  readonly #onRetry: () => void;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    const m = deps.metrics;
    this.#durations = STATUS_CLASSES.map((c) => m.requestDuration.labels({ class: c }));
    this.#tally = m.tally;
    this.#onRetry = () => m.upstreamRetries.inc();
    this.#limits = { maxHeaderSize: deps.config.limits.maxHeaderSize, maxBodySize: deps.config.limits.maxBodySize };
    this.#name = deps.config.name;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Every request, HTTP/1.1 (Node's http server) and h2 (core streams, h2-stream.ts) alike. */
  readonly handle = (req: EdgeRequest, res: EdgeResponse): void => {
    const h2 = req instanceof H2Request;
    const ctx: RequestContext = {
      req,
      res,
      id: requestIdFrom(req.headers['x-request-id'], newRequestId),
      start: performance.now(),
      proto: h2 ? 'h2' : 'h1',
      scheme: h2 || (req.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http',
      method: req.method ?? 'GET',
      host: '',
      target: '',
      clientIp: req.socket?.remoteAddress ?? '',
      status: 0,
      length: undefined,
      upstreamMs: -1,
      cache: '',
      origin: undefined,
      error: undefined,
      clientGone: undefined,
    };
    this.#inflight++;
    // 'close' comes once per response: no once() wrapper needed.
    res.on('close', () => this.#finish(ctx));
    // A request whose HEADERS ended the stream (every GET from a browser) has no upload to stop.
    if (h2 && !req.stream.endAfterHeaders) stopUnreadUpload(res as H2Response);
    try {
      this.#process(ctx)?.catch((err: unknown) => failToProxy(ctx, err));
    } catch (err) {
      failToProxy(ctx, err);
    }
  };

  /**
   * Phases 1-5. A cache hit is answered synchronously (no async frame, promise or microtask
   * on the path most requests take); whatever waits on the disk or the origin returns a
   * promise. Throws, or rejects, with what failToProxy() answers.
   */
  #process(ctx: RequestContext): Promise<void> | undefined {
    // 1 request filter
    requestFilter(ctx, this.#limits);
    const vhost = this.#deps.router.match(ctx.host);
    if (!vhost) throw new AnyedgeError('MISDIRECTED', `host "${ctx.host}" is not served here`);
    // 2 static
    if (vhost.static?.covers(ctx.target)) {
      const file = vhost.static.serve({ method: ctx.method, target: ctx.target, headers: ctx.req.headers });
      if (file instanceof Promise) return file.then((f) => (f ? this.#fromStatic(ctx, f) : this.#afterStatic(ctx, vhost)));
      this.#fromStatic(ctx, file);
      return undefined;
    }
    return this.#afterStatic(ctx, vhost);
  }

  #fromStatic(ctx: RequestContext, file: StaticAnswer): void {
    ctx.cache = `${this.#name}; hit; detail=static`;
    this.#respond(ctx, file.status, file.headers, file.body);
  }

  #afterStatic(ctx: RequestContext, vhost: VirtualHost): Promise<void> | undefined {
    if (vhost.origins.origins.length === 0) throw new AnyedgeError('NOT_FOUND', `no file at ${ctx.target.split('?')[0]} and no origin for this host`);
    // 3 cache (hits and stale never shed: they cost the node little and keep users served)
    if (vhost.cache && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      const r = vhost.cache.serve(
        { method: ctx.method, scheme: ctx.scheme, host: ctx.host, target: ctx.target, headers: ctx.req.headers },
        (up, signal) => this.#fetchForCache(ctx, vhost.origins, up, signal),
      );
      if (r instanceof Promise) return r.then((x) => this.#fromCache(ctx, x));
      this.#fromCache(ctx, r);
      return undefined;
    }
    // 4 upstream
    return this.#forwardAndRespond(ctx, vhost);
  }

  #fromCache(ctx: RequestContext, r: CacheAnswer): void {
    ctx.cache = r.cacheStatus;
    this.#respond(ctx, r.status, r.headers, r.body);
  }

  async #forwardAndRespond(ctx: RequestContext, vhost: VirtualHost): Promise<void> {
    const up = await this.#forward(ctx, vhost.origins);
    const headers = responseHeadersFromRaw(up.rawHeaders, this.#name);
    // Invalidation reads Location / Content-Location, which are never hop-by-hop.
    if (vhost.cache && up.status < 400) vhost.cache.invalidateAfterUnsafe({ method: ctx.method, scheme: ctx.scheme, host: ctx.host, target: ctx.target, headers: ctx.req.headers }, up.status, headers);
    this.#respond(ctx, up.status, headers, up.body);
  }

  #shedCheck(): void {
    if (this.#deps.overload.shedOrigin) throw this.#deps.overload.shedError();
  }

  #upstreamHeaders(ctx: RequestContext, headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
    return upstreamRequestHeaders(headers, {
      clientIp: ctx.clientIp,
      proto: ctx.scheme,
      host: ctx.host,
      httpVersion: ctx.proto === 'h2' ? '2' : '1.1',
      name: this.#name,
      requestId: ctx.id,
      trustForwarded: this.#deps.config.trustForwarded,
      upstreamHost: ctx.host,
    });
  }

  /** Forwards the client's request, streaming its body, and records the exchange. */
  async #forward(ctx: RequestContext, origins: OriginGroup): Promise<UpstreamResponse> {
    this.#shedCheck();
    const req = ctx.req;
    let body: Readable | null = null;
    if (hasBody(req)) {
      const limit = new BodyLimit(this.#limits.maxBodySize);
      body = limit;
      // Errors on either side surface through the upstream request; the client's own abort
      // is seen by the response's 'close'.
      if (req instanceof H2Request) {
        // Not pipeline(): a body over the limit would destroy the stream, and the 413 with it.
        // The stream stays paused; stopUnreadUpload() resets it once the answer is out.
        req.stream.pipe(limit);
      } else {
        pump(req, limit, () => undefined);
      }
    }
    // The client going away before its answer is complete stops the origin work too (#finish).
    const gone = new ClientGone();
    ctx.clientGone = gone;
    return this.#exchange(ctx, origins, { method: ctx.method, target: ctx.target, headers: this.#upstreamHeaders(ctx, req.headers), body, signal: gone });
  }

  /** The cache's path to the origin: it chooses method, target and (conditional) headers. */
  async #fetchForCache(ctx: RequestContext, origins: OriginGroup, up: { method: string; target: string; headers: Record<string, string | string[] | undefined> }, signal?: AbortSignal) {
    this.#shedCheck();
    // Not tied to this client: the fetch may be the one that coalesced waiters or a
    // background refresh depend on; the cache aborts it through `signal` when nobody needs it.
    const r = await this.#exchange(ctx, origins, { method: up.method, target: up.target, headers: this.#upstreamHeaders(ctx, up.headers), body: null, signal });
    return { status: r.status, headers: responseHeadersFromRaw(r.rawHeaders, this.#name), body: r.body };
  }

  async #exchange(ctx: RequestContext, origins: OriginGroup, up: UpstreamRequest): Promise<UpstreamResponse> {
    const m = this.#deps.metrics;
    try {
      const r = await origins.request(up, this.#onRetry);
      ctx.upstreamMs = r.durationMs;
      ctx.origin = r.origin;
      this.#tally.upstream[classIndex(r.status)]!++;
      m.upstreamDuration.observe(r.durationMs / 1000);
      this.#deps.overload.recordOriginResult(r.status < 500);
      return r;
    } catch (err) {
      if (err instanceof AnyedgeError && err.source === 'upstream') {
        m.upstreamErrors.inc({ code: err.code });
        this.#deps.overload.recordOriginResult(false);
      }
      throw err;
    }
  }

  /** 5 response filter, then the body: a Buffer, a stream from the origin, or nothing. */
  #respond(ctx: RequestContext, status: number, headers: Record<string, string | string[]>, body: Buffer | Readable | null): void {
    const res = ctx.res;
    headers['x-request-id'] = ctx.id;
    if (ctx.cache && headers['cache-status'] === undefined) headers['cache-status'] = ctx.cache;
    if (ctx.proto === 'h1' && (this.#deps.state.draining || this.#deps.overload.keepAliveDisabled)) headers['connection'] = 'close';
    ctx.status = status;
    if (res.destroyed) {
      // The client left before the answer: drop the origin's body. Destroying undici's
      // body emits an abort error; with no listener that error would kill the worker.
      if (body && !Buffer.isBuffer(body)) {
        body.on('error', () => undefined);
        body.destroy();
      }
      return;
    }
    const declared = headers['content-length'];
    ctx.length = typeof declared === 'string' ? Number(declared) : Buffer.isBuffer(body) ? body.length : undefined;
    try {
      res.writeHead(status, headers);
      if (body === null || ctx.method === 'HEAD' || status === 204 || status === 304) {
        if (body && !Buffer.isBuffer(body)) body.resume();
        res.end();
      } else if (Buffer.isBuffer(body)) {
        res.end(body);
      } else {
        relayBody(ctx, body, res instanceof H2Response ? res.body() : res);
      }
    } catch (err) {
      // A head Node refuses (an invalid field value): failToProxy() answers instead, and the
      // origin's body, which nobody will read now, is dropped rather than left holding its
      // connection.
      if (body && !Buffer.isBuffer(body) && !body.destroyed) {
        body.on('error', () => undefined);
        body.destroy();
      }
      throw err;
    }
  }

  /** 6 log: one line per request, whatever happened. */
  #finish(ctx: RequestContext): void {
    this.#inflight--;
    const res = ctx.res;
    const aborted = !res.writableFinished;
    if (aborted) ctx.clientGone?.abort();
    const status = ctx.status || (aborted ? 499 : res.statusCode);
    const cls = classIndex(status === 499 ? 400 : status);
    const durationMs = performance.now() - ctx.start;
    this.#tally.requests[cls * 2 + (ctx.proto === 'h2' ? 1 : 0)]!++;
    this.#durations[cls]!.observe(durationMs / 1000);
    // Body bytes as declared by Content-Length, for a body that was actually sent in full.
    // (res.getHeader cannot tell: headers given to writeHead are not kept on the response.)
    const bytes = ctx.length === undefined || aborted || ctx.method === 'HEAD' || status === 304 ? undefined : ctx.length;
    if (bytes) this.#tally.responseBytes += bytes;
    if (!this.#deps.config.log.access) return;
    const line: Record<string, unknown> = {
      reqId: ctx.id,
      proto: ctx.proto,
      method: ctx.method,
      host: ctx.host,
      path: ctx.target,
      status,
      durMs: Math.round(durationMs * 100) / 100,
      client: ctx.clientIp,
    };
    if (bytes !== undefined) line['bytes'] = bytes;
    if (ctx.upstreamMs >= 0) line['upMs'] = Math.round(ctx.upstreamMs * 100) / 100;
    if (ctx.origin) line['origin'] = ctx.origin;
    if (ctx.cache) line['cache'] = ctx.cache;
    if (aborted && !ctx.error) line['aborted'] = true;
    if (ctx.error) {
      const e = ctx.error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      line['err'] = { code: e.code, message: e.message, cause: e.cause?.code ?? e.cause?.message };
      this.#deps.log.warn(line, 'request');
    } else {
      this.#deps.log.info(line, 'request');
    }
  }
}

/**
 * h2's counterpart of HTTP/1.1's Connection: close after a refused or unread body. A client
 * still uploading once the answer is complete (413, a 502 before the origin took the body,
 * an origin answering early) waits on flow control forever: the stream never closes, keeps
 * a concurrency slot, and never reaches the log. RFC 9113 §8.1 lets the server stop it with
 * RST_STREAM(NO_ERROR); Node does so itself only for a body nobody started reading.
 */
function stopUnreadUpload(res: H2Response): void {
  const stream = res.stream;
  // On the next turn, as Node does, so the end of the response is flushed before the reset.
  // destroy() without an error sends RST_STREAM(NO_ERROR) and drops what was received and
  // never read; close() would leave the stream waiting for that data to be consumed.
  stream.once('finish', () => setImmediate(() => {
    if (!stream.destroyed && stream.state.remoteClose !== 1) stream.destroy();
  }));
}

/**
 * The origin's body into the client's response. Not stream.pipeline(): it makes an
 * AbortController per call and aborts it when done, and the DOMException that abort()
 * builds (with a stack) cost more than the rest of the relay (bench/results/optimisations).
 * The two things pipeline() did for us are done here: an origin failing mid-body resets
 * the client's response (a truncated body must not pass for a whole one), and a client
 * leaving stops the origin's body.
 */
function relayBody(ctx: RequestContext, body: Readable, res: ServerResponse | Writable): void {
  // An origin failing mid-body is seen here first. Recorded before the response is
  // destroyed: on h2 the response's 'close' (which writes the log line) comes at once,
  // and the line would say "aborted" instead of naming the error.
  body.once('error', (err) => {
    if (!ctx.error && !res.destroyed) ctx.error = new AnyedgeError('UPSTREAM_RESET', `origin failed during the response body: ${err.message}`, { cause: err });
    res.destroy(err);
  });
  res.once('close', () => {
    if (body.readableEnded) return;
    // (An h2 stream the client cancelled reads as writableFinished: only the body tells.)
    if (!ctx.error && !res.writableFinished) ctx.error = new AnyedgeError('CLIENT_ABORTED', 'client went away during the response body');
    // Destroying undici's body emits an abort error: the listener above takes it.
    body.destroy();
  });
  body.pipe(res);
}

/**
 * Tells a forwarded request's origin exchange that its client went away. A stand-in for an
 * AbortController, which with its EventTarget and AbortSignal cost ~5 % of a forwarded
 * request's CPU (bench/results/optimisations); an exchange is its only listener at a time.
 */
class ClientGone implements AbortLike {
  aborted = false;
  readonly reason = undefined;
  #listeners: Array<() => void> = [];

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l();
  }
}

/** Whether a request carries a body to forward (h1: framing headers; h2: stream not ended). */
function hasBody(req: EdgeRequest): boolean {
  if (req instanceof H2Request) return !req.stream.endAfterHeaders;
  const h = (req as IncomingMessage).headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}
