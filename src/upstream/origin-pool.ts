// The private link: one undici Pool per origin (keep-alive, bounded connections), origins of a
// host tried round-robin, skipping those the health checker marks down while any is up.
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Pool, errors, type Dispatcher } from 'undici';
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
  /** Aborts the exchange: the cache's AbortSignal, or the pipeline's client-gone flag. */
  signal?: AbortLike | undefined;
}

/** What an exchange needs of an abort signal (an AbortSignal is one). */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface UpstreamResponse {
  status: number;
  /**
   * The origin's header lines as undici received them: [name, value, name, value, ...],
   * names in their original case. Left unparsed here: the proxy turns them into the
   * client's header map in one pass (src/proxy/filters/headers.ts).
   */
  rawHeaders: Buffer[];
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
  request(req: UpstreamRequest, onRetry?: (err: AnyedgeError) => void): Promise<UpstreamResponse> {
    const first = this.pick();
    if (!first) return Promise.reject(new AnyedgeError('NO_ORIGIN', 'this host has no origin configured'));
    return send(first, req).catch((err: unknown) => {
      if (!(err instanceof AnyedgeError) || !err.retryable || req.body !== null || !IDEMPOTENT.has(req.method) || req.signal?.aborted) throw err;
      onRetry?.(err);
      const second = this.pick(first) ?? first;
      return send(second, req);
    });
  }
}

/**
 * A response body fed by undici's dispatcher: backpressure through undici's resume, and a
 * body destroyed before its end aborts the exchange (the connection is not reused for a
 * half-read response). The same contract as undici's own request() body, without its
 * consume helpers (.text(), .json()) that nothing here uses.
 */
class UpstreamBody extends Readable {
  readonly #abort: () => void;
  readonly #resume: () => void;
  /** Set by collect(): the rest of the body goes here instead of through the stream. */
  #whole: { chunks: Buffer[]; size: number; max: number; resolve: (b: Buffer) => void; reject: (err: Error) => void } | undefined;
  /**
   * Chunks that came before anyone read the stream (for a small body, all of it, often in
   * the read that brought the headers). They enter the stream on its first read; collect()
   * takes them directly, so a body read whole never goes through push(), 'readable', 'end'
   * and their process.nextTick()s. undefined once the stream has been read.
   */
  #early: Buffer[] | undefined = [];
  #earlySize = 0;
  /** collect() has the whole body and nobody listened to the stream: it ends unread. */
  #taken = false;
  /** The origin has sent the whole body (the exchange's onComplete). */
  complete = false;

  constructor(resume: () => void, abort: () => void) {
    super({ autoDestroy: true, highWaterMark: 64 * 1024 });
    this.#resume = resume;
    this.#abort = abort;
  }

  override _read(): void {
    const early = this.#early;
    if (early !== undefined) {
      this.#early = undefined;
      for (const c of early) this.push(c);
      if (this.complete) {
        this.push(null);
        return;
      }
    }
    this.#resume();
  }

  /** A chunk from the origin; false asks undici to pause until the stream is read. */
  fromOrigin(chunk: Buffer): boolean {
    if (this.#whole !== undefined) return this.addWhole(chunk);
    const early = this.#early;
    if (early === undefined) return this.push(chunk);
    early.push(chunk);
    this.#earlySize += chunk.length;
    return this.#earlySize < this.readableHighWaterMark;
  }

  /** The origin sent the whole body. */
  originEnded(): void {
    this.complete = true;
    // A stream already being read ends now; one not read yet ends on its first read.
    if (this.#early === undefined) this.push(null);
    this.finishWhole();
  }

  /**
   * The whole body as one Buffer, for a consumer that wants nothing else (the cache reading
   * a small object): what the stream already holds, then every later chunk straight from
   * the exchange, without the stream's per-chunk machinery. More than `max` bytes rejects
   * and aborts the exchange. The stream must not have been read in any other way.
   */
  collect(max: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.destroyed) { reject(this.errored ?? new errors.RequestAbortedError()); return; }
      const whole = { chunks: [] as Buffer[], size: 0, max, resolve, reject };
      this.#whole = whole;
      // Failures reach the caller through the promise; the stream's own 'error' has no reader.
      this.on('error', ignoreError);
      const early = this.#early;
      if (early !== undefined) {
        this.#early = undefined;
        for (const c of early) if (!this.addWhole(c)) return;
        // undici may have paused for these: the rest comes straight to addWhole().
        if (!this.complete) this.#resume();
      } else {
        for (let c = this.read() as Buffer | null; c !== null; c = this.read() as Buffer | null) if (!this.addWhole(c)) return;
      }
      if (this.complete) this.finishWhole();
    });
  }

  /** A chunk for collect(); false once the body went over its limit (the exchange is then aborted). */
  addWhole(chunk: Buffer): boolean {
    const whole = this.#whole!;
    whole.size += chunk.length;
    if (whole.size > whole.max) {
      this.#whole = undefined;
      whole.reject(new AnyedgeError('UPSTREAM_PROTOCOL', `origin sent more than the ${whole.max} bytes it announced`));
      this.destroy();
      return false;
    }
    whole.chunks.push(chunk);
    return true;
  }

  /**
   * The body ended: collect() resolves, and the stream is over without aborting the
   * exchange: one someone listens to ends (so it closes, not aborts); one nobody listens to
   * is destroyed at once, without reading its end through the stream machinery.
   */
  finishWhole(): void {
    const whole = this.#whole;
    if (whole === undefined) return;
    this.#whole = undefined;
    whole.resolve(whole.chunks.length === 1 ? whole.chunks[0]! : Buffer.concat(whole.chunks, whole.size));
    if (this.listenerCount('close') > 0 || this.listenerCount('end') > 0 || this.listenerCount('data') > 0) {
      // Ends the stream if originEnded() left that to its first read (a repeat is ignored).
      this.push(null);
      this.resume();
    } else {
      this.#taken = true;
      this.destroy();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    let e = err;
    if (!e && !this.readableEnded && !this.#taken) e = new errors.RequestAbortedError();
    const whole = this.#whole;
    if (whole !== undefined) {
      this.#whole = undefined;
      whole.reject(e ?? new errors.RequestAbortedError());
    }
    if (e) this.#abort();
    // Destroyed before anyone listens (the origin failed in the tick its headers arrived):
    // the error waits a turn so the consumer can attach its listener, as undici does.
    if (this.listenerCount('error') === 0) setImmediate(cb, e);
    else cb(e);
  }
}

type AbortFn = (err?: Error) => void;

function ignoreError(): void { /* see UpstreamBody.collect */ }

/**
 * One origin exchange on undici's dispatch API (what its request() is built on, minus an
 * async resource, a promise and a parsed header object per request). Settles with the
 * response once its headers arrive; the body streams on.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #origin: Origin;
  readonly #started = performance.now();
  readonly #signal: AbortLike | undefined;
  readonly #requestBody: Readable | null;
  #resolve: ((r: UpstreamResponse) => void) | undefined;
  #reject: ((err: unknown) => void) | undefined;
  #abort: AbortFn | undefined;
  #body: UpstreamBody | undefined;
  #onAbort: (() => void) | undefined;

  constructor(origin: Origin, req: UpstreamRequest, resolve: (r: UpstreamResponse) => void, reject: (err: unknown) => void) {
    const signal = req.signal;
    this.#origin = origin;
    this.#requestBody = req.body;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
    if (signal) {
      this.#onAbort = () => this.#aborted();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  #aborted(): void {
    const reason = (this.#signal?.reason as Error | undefined) ?? new errors.RequestAbortedError();
    if (this.#body) this.#body.destroy(reason);
    else if (this.#abort) this.#abort(reason);
    else this.onError(reason);
  }

  #unlisten(): void {
    if (this.#onAbort) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }

  onConnect(abort: AbortFn): void {
    if (this.#signal?.aborted) {
      abort((this.#signal.reason as Error | undefined) ?? new errors.RequestAbortedError());
      return;
    }
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim responses are the origin's business with us, not the client's.
    if (statusCode < 200) return true;
    const resolve = this.#resolve;
    if (!resolve) return false;
    this.#resolve = undefined;
    this.#reject = undefined;
    const abort = this.#abort!;
    const body = new UpstreamBody(resume, () => abort());
    this.#body = body;
    if (this.#onAbort) body.once('close', () => this.#unlisten());
    resolve({ status: statusCode, rawHeaders, body, origin: this.#origin.url, durationMs: performance.now() - this.#started });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.#body!.fromOrigin(chunk);
  }

  onComplete(): void {
    this.#body?.originEnded();
  }

  onError(err: Error): void {
    const upload = this.#requestBody;
    if (upload && !upload.destroyed) {
      upload.on('error', () => undefined);
      upload.destroy(err);
    }
    const reject = this.#reject;
    if (reject) {
      this.#resolve = undefined;
      this.#reject = undefined;
      this.#unlisten();
      reject(upstreamFailure(err, this.#origin));
      return;
    }
    const body = this.#body;
    // After the headers: the body fails, once whoever is about to read it has had its turn.
    if (body && !body.destroyed) queueMicrotask(() => body.destroy(err));
  }
}

/** What a failure before the response headers means to the pipeline. */
function upstreamFailure(err: unknown, origin: Origin): unknown {
  if (err instanceof AnyedgeError) return err; // e.g. body over the limit, raised by our counter
  if ((err as { name?: string }).name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED') {
    return new AnyedgeError('CLIENT_ABORTED', 'client went away before the origin answered', { cause: err });
  }
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof AnyedgeError) return cause;
  return fromUpstreamError(err, origin.url);
}

function send(origin: Origin, req: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const handler = new Exchange(origin, req, resolve, reject);
    origin.pool.dispatch({
      method: req.method as Dispatcher.HttpMethod,
      path: req.target,
      headers: req.headers,
      body: req.body,
    }, handler);
  });
}

/**
 * Lets each pool finish its exchanges for up to `graceMs`, then destroys what is left: an
 * origin body still arriving for the cache (which outlives the client that asked) must not
 * hold a stopping worker past its deadline.
 */
export async function closeOrigins(origins: Iterable<Origin>, graceMs = Number.POSITIVE_INFINITY): Promise<void> {
  const pools = [...origins].map((o) => o.pool);
  const closed = Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  if (graceMs === Number.POSITIVE_INFINITY) {
    await closed;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(true), Math.max(0, graceMs)); }),
  ]);
  clearTimeout(timer);
  if (late) await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
}
