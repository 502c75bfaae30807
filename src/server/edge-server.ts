// One worker's listeners: TLS (h2 + HTTP/1.1 by ALPN) or plain HTTP/1.1, each feeding the
// same pipeline. Owns connection tracking, so it can tell idle keep-alive connections from
// busy ones when draining, and close each kind the right way.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Config, ListenerConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Pipeline, PipelineState } from '../proxy/pipeline.js';
import { H2Request, H2Response } from '../proxy/h2-stream.js';
import type { CertificateSet } from './tls.js';
import { clientErrorResponse } from './client-error.js';
import type { UpgradeHandler } from '../upstream/websocket.js';
import type { ConnectionAdmission } from '../overload/admission.js';

type AnyServer = Http2SecureServer | HttpServer;

export interface BoundListener {
  config: ListenerConfig;
  server: AnyServer;
  address: string;
  port: number;
  tls: boolean;
}

const ACTIVE = Symbol('anyedge.activeRequests');
const IDLE_SINCE = Symbol('anyedge.idleSince');
/** Above the admission limit: its next response closes it (h1), or it got GOAWAY (h2). */
const SHED = Symbol('anyedge.shed');
const SESSION = Symbol('anyedge.session');
/** On an admitted TCP socket: call when the TLS socket wrapped around it is secure. */
const HANDSHAKE_DONE = Symbol('anyedge.handshakeDone');
/** The busy interval (EdgeServer's #epoch) of its latest request; on the session for h2. */
const REQUEST_EPOCH = Symbol('anyedge.requestEpoch');
/** Bytes read + written when the idle sweep last saw them change, and when that was. */
const MOVED = Symbol('anyedge.bytesMoved');
const MOVED_AT = Symbol('anyedge.bytesMovedAt');
/** Upgraded to a WebSocket tunnel: quiet for minutes is normal there, so never swept. */
const TUNNEL = Symbol('anyedge.tunnel');
type EpochSession = ServerHttp2Session & { [REQUEST_EPOCH]?: number };
type TrackedSocket = (Socket | TLSSocket) & {
  [ACTIVE]?: number; [IDLE_SINCE]?: number; [SHED]?: boolean; [SESSION]?: ServerHttp2Session; [HANDSHAKE_DONE]?: () => void; [REQUEST_EPOCH]?: number;
  [MOVED]?: number; [MOVED_AT]?: number; [TUNNEL]?: boolean;
};

export interface EdgeServerDeps {
  config: Readonly<Config>;
  pipeline: Pipeline;
  state: PipelineState;
  certificates: CertificateSet | undefined;
  log: Logger;
  metrics: WorkerMetrics;
  upgrade?: UpgradeHandler;
  /** Adaptive connection admission; without it every connection is served. */
  admission?: ConnectionAdmission;
}

export class EdgeServer {
  readonly listeners: BoundListener[] = [];
  readonly #deps: EdgeServerDeps;
  readonly #sockets = new Set<TrackedSocket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  #closing = false;
  /** Admitted TCP connections, TLS handshakes in progress included. */
  #admitted = 0;
  /** Connections marked SHED that are still open. */
  #shedOpen = 0;
  /** Admitted TLS connections whose handshake has not finished. */
  #handshaking = 0;
  /** Requests received (h1 and h2), for admission's CPU-per-request. */
  #requests = 0;
  /** Numbers the intervals between busyConnections() calls; requests carry the current one. */
  #epoch = 0;
  /** Closes HTTP/1.1 connections idle for limits.idleTimeout (see #sweepIdle). */
  #idleSweep: NodeJS.Timeout | undefined;

  constructor(deps: EdgeServerDeps) {
    this.#deps = deps;
    const admission = deps.admission;
    if (admission) {
      const m = deps.metrics;
      admission.onRefuse = (reason) => m.connectionsRefused.inc({ reason });
      admission.onStep = () => {
        this.#shedExcess(admission.excess());
        const { limit, queued } = admission.stats();
        m.admissionLimited.set(admission.limiting ? 1 : 0);
        m.admissionLimit.set(admission.limiting ? limit : 0);
        m.admissionQueued.set(queued);
      };
      admission.onLimit = (limit, reason) => {
        if (limit === Number.POSITIVE_INFINITY) deps.log.info({ reason }, 'admission: connection limit lifted');
        else deps.log.debug({ limit, open: this.#admitted, reason }, 'admission: connection limit');
      };
    }
  }

  /** Client connections established (TLS done) and open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Client connections admitted and open now, TLS handshakes in progress included. */
  get admittedConnections(): number {
    return this.#admitted;
  }

  /** Requests received so far (a counter that only grows). */
  get requestCount(): number {
    return this.#requests;
  }

  /** Connections with a request since the previous call, or with one in progress (h1). */
  busyConnections(): number {
    const epoch = this.#epoch++;
    let n = 0;
    for (const s of this.#sockets) if (isBusy(s, epoch)) n++;
    return n;
  }

  /** Admitted TLS connections still in their handshake. */
  get handshakingConnections(): number {
    return this.#handshaking;
  }

  async listen(): Promise<BoundListener[]> {
    for (const l of this.#deps.config.listeners) {
      const server = l.tls ? this.#createTls() : this.#createPlain();
      this.#instrument(server, l.tls);
      this.#admit(server, l.tls);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: l.address, port: l.port, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      this.listeners.push({ config: l, server, address: addr.address, port: addr.port, tls: l.tls });
    }
    const idleMs = this.#deps.config.limits.idleTimeout;
    if (idleMs > 0 && this.#idleSweep === undefined) {
      this.#idleSweep = setInterval(() => this.#sweepIdle(performance.now(), idleMs), idleSweepInterval(idleMs));
      this.#idleSweep.unref();
    }
    return this.listeners;
  }

  #createTls(): Http2SecureServer {
    const cfg = this.#deps.config;
    const certs = this.#deps.certificates;
    if (!certs) throw new Error('a TLS listener needs certificates');
    const server = createSecureServer({
      ...certs.defaultOptions,
      SNICallback: certs.sniCallback,
      allowHTTP1: true,
      handshakeTimeout: 10_000,
      settings: {
        maxConcurrentStreams: cfg.limits.maxConcurrentStreams,
        // Above our own limit, so an oversized request gets our 431 rather than a stream reset.
        maxHeaderListSize: cfg.limits.maxHeaderSize * 2 + 1024,
      },
      maxSessionMemory: 32,
    });
    // HTTP/1.1 on the same server reads these (Node's http connection listener).
    Object.assign(server, {
      maxHeaderSize: cfg.limits.maxHeaderSize,
      headersTimeout: cfg.limits.headersTimeout,
      requestTimeout: cfg.limits.requestTimeout,
      keepAliveTimeout: cfg.limits.keepAliveTimeout,
      connectionsCheckingInterval: timeoutCheckInterval(cfg),
    });
    // Not server.setTimeout(): that also gives every HTTP/1.1 socket a timer that Node moves
    // on each read and write (a clock read and a timer-list update per I/O), and it cut a
    // request waiting on a slow origin. h2 sessions keep Node's session timer; HTTP/1.1
    // connections are swept (#sweepIdle).
    const idleMs = cfg.limits.idleTimeout;
    server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      if (idleMs > 0) session.setTimeout(idleMs, () => { if (!session.destroyed) session.destroy(); });
      // session.socket is a proxy that forwards property reads and writes to the TLS socket.
      (session.socket as TrackedSocket)[SESSION] = session;
      if (this.#closing) session.close();
      session.once('close', () => this.#sessions.delete(session));
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      // Node keeps the TCP socket it wrapped as _parent (test/overload/admission.test.ts
      // checks the handshake count returns to 0, so a Node without it fails loudly there).
      (socket as TLSSocket & { _parent?: TrackedSocket })._parent?.[HANDSHAKE_DONE]?.();
      this.#deps.metrics.tlsHandshakes.inc({ resumed: socket.isSessionReused() ? 'true' : 'false' });
    });
    server.on('tlsClientError', () => this.#deps.metrics.tlsErrors.inc());
    return server;
  }

  #createPlain(): HttpServer {
    const cfg = this.#deps.config;
    return createHttpServer({
      maxHeaderSize: cfg.limits.maxHeaderSize,
      headersTimeout: cfg.limits.headersTimeout,
      requestTimeout: cfg.limits.requestTimeout,
      keepAliveTimeout: cfg.limits.keepAliveTimeout,
      connectionsCheckingInterval: timeoutCheckInterval(cfg),
    });
  }

  #instrument(server: AnyServer, tls: boolean): void {
    const { pipeline, metrics, log } = this.#deps;
    server.on(tls ? 'secureConnection' : 'connection', (socket: TrackedSocket) => {
      this.#sockets.add(socket);
      socket[MOVED_AT] = performance.now();
      socket.once('close', () => {
        this.#sockets.delete(socket);
        // SHED is set on this socket (the TLS one on a TLS listener, not the TCP socket
        // admission saw): counted here, or #shedExcess would think it still open forever.
        if (socket[SHED]) this.#shedOpen--;
      });
    });
    // HTTP/1.1 (on the TLS server too: ALPN http/1.1 goes to Node's http connection listener).
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#requests++;
      const socket = req.socket as TrackedSocket;
      socket[REQUEST_EPOCH] = this.#epoch;
      socket[ACTIVE] = (socket[ACTIVE] ?? 0) + 1;
      if (socket[SHED]) res.shouldKeepAlive = false;
      // 'close' comes once per response: on(), not once() and its wrapper per request.
      res.on('close', () => {
        socket[ACTIVE] = (socket[ACTIVE] ?? 1) - 1;
        // Not closed here even when draining: this response may have gone out without
        // Connection: close, and the client may be reusing the connection right now.
        // The drain sweep closes it once it has been idle for a whole window.
        if (socket[ACTIVE] === 0) socket[IDLE_SINCE] = performance.now();
      });
      // A pipelined request is handled once the responses before it are done and its own
      // response owns the connection (Node emits 'socket' then). If an earlier response
      // closes the connection (a refused request, a drain), the requests queued behind it
      // never reach an origin: their answers could not be sent, and a client retrying them
      // elsewhere would have the origin act twice.
      if (!res.socket) {
        res.once('socket', () => pipeline.handle(req, res));
        return;
      }
      pipeline.handle(req, res);
    });
    // HTTP/1.1 framing errors (smuggling attempts, oversized headers, timeouts): answer with
    // a status that names the problem, then close: the rest of the bytes cannot be trusted.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      const { status, message, code } = clientErrorResponse(err);
      // A client closing its connection is ordinary (every load test ends that way): not an
      // error to count or to log at info.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        log.debug({ err: { code: err.code }, client: (socket as Socket).remoteAddress }, 'client closed the connection');
        socket.destroy();
        return;
      }
      metrics.clientErrors.inc({ code });
      log.info({ err: { code: err.code, message: err.message }, status, client: (socket as Socket).remoteAddress }, 'client error');
      // A response already on its way (a pipelined request behind it failed to parse) must
      // not get our status line written into its body: the client would take the mix for a
      // whole response. Cut the connection instead, as Node's own default handler does.
      const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
      if (!socket.writable || err.code === 'ECONNRESET' || inFlight?.headersSent) {
        socket.destroy();
        return;
      }
      const body = `${status} ${message}\n`;
      socket.end(`HTTP/1.1 ${status} ${message}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
    if (tls) this.#streams(server as Http2SecureServer);
    // HTTP/1.1 CONNECT (an h2 CONNECT is a stream like any other: the pipeline refuses it).
    server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      metrics.clientErrors.inc({ code: 'AE_METHOD_NOT_ALLOWED' });
      log.info({ method: 'CONNECT', target: req.url, client: req.socket.remoteAddress, status: 405 }, 'refused CONNECT');
      const body = '405 Method Not Allowed: CONNECT is not supported: this is not a forward proxy\n';
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
    if (this.#deps.upgrade) {
      const upgrade = this.#deps.upgrade;
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        (socket as TrackedSocket)[TUNNEL] = true;
        upgrade(req, socket, head);
      });
    }
  }

  /**
   * h2 requests on the core stream API (src/proxy/h2-stream.ts). Adding the 'request'
   * listener above made Node attach its compatibility layer to 'stream'; it is taken off
   * again, so each stream becomes one H2Request/H2Response pair instead.
   */
  #streams(server: Http2SecureServer): void {
    const pipeline = this.#deps.pipeline;
    server.removeAllListeners('stream');
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      this.#requests++;
      const session = stream.session as EpochSession | undefined;
      if (session) session[REQUEST_EPOCH] = this.#epoch;
      // As Node's compatibility layer (and its HTTP/1.1 server) do: the client waits for this
      // before sending its body. Any other expectation is refused by the request filter.
      const expect = headers.expect;
      if (expect !== undefined && !stream.endAfterHeaders && expect.toLowerCase() === '100-continue') stream.additionalHeaders({ ':status': 100 });
      pipeline.handle(new H2Request(stream, headers, rawHeaders), new H2Response(stream));
    });
  }

  /**
   * Every accepted TCP connection passes admission before Node's TLS or HTTP listeners see it:
   * those listeners are taken off 'connection' and called once the connection is admitted,
   * as `server.emit('connection', socket)` would. A connection that waits is paused, so not
   * even its ClientHello is read.
   */
  #admit(server: AnyServer, tls: boolean): void {
    const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
    server.removeAllListeners('connection');
    const admission = this.#deps.admission;
    server.on('connection', (socket: Socket) => {
      const start = (): void => {
        this.#admitted++;
        let handshaking = tls;
        if (tls) this.#handshaking++;
        const handshakeOver = (): void => {
          if (!handshaking) return;
          handshaking = false;
          this.#handshaking--;
          admission?.released();
        };
        socket.once('close', () => {
          this.#admitted--;
          if (handshaking) { handshaking = false; this.#handshaking--; }
          admission?.released();
        });
        const waited = socket.isPaused();
        for (const f of inner) f.call(server, socket);
        if (tls) (socket as TrackedSocket)[HANDSHAKE_DONE] = handshakeOver;
        // The TLS wrap reads the handle itself; a plain HTTP connection that waited paused
        // must be resumed for its parser to see the request.
        if (waited && !tls) socket.resume();
      };
      if (admission && !this.#closing) admission.offer(socket, start);
      else start();
    });
  }

  /**
   * Tell `excess` more busy connections (newest first; already told ones count) to go: h1
   * ones close after their next response, h2 ones get GOAWAY. Idle ones (no request in the
   * interval busyConnections() last counted) are left alone: they cost no CPU.
   */
  #shedExcess(excess: number): void {
    let n = excess - this.#shedOpen;
    if (n <= 0) return;
    const newestFirst = [...this.#sockets].reverse();
    const counted = this.#epoch - 1;
    for (const socket of newestFirst) {
      if (n <= 0) break;
      if (socket[SHED] || !isBusy(socket, counted)) continue;
      socket[SHED] = true;
      this.#shedOpen++;
      n--;
      this.#deps.metrics.connectionsShed.inc();
      // An idle h1 connection is not cut: a request crossing the close would be lost. Its next
      // response says Connection: close; until then it costs a descriptor, not CPU.
      const session = socket[SESSION];
      if (session) closeSession(session);
    }
  }

  /**
   * limits.idleTimeout for HTTP/1.1 connections, checked every idleSweepInterval() instead of
   * by a timer per socket: a connection on which no byte moved either way for that long is
   * destroyed. That covers one that never sends a request and a client that stops reading
   * its response (the response waits in the socket's buffer); a request waiting on a slow
   * origin, with nothing buffered for the client, is the origin timeouts' business and is
   * not idle. Between requests Node's keepAliveTimeout, normally shorter, closes first.
   * h2 connections are left to their session's timer.
   */
  #sweepIdle(now: number, idleMs: number): void {
    for (const socket of this.#sockets) {
      if (socket[SESSION] !== undefined || socket[TUNNEL] || (socket as TLSSocket).alpnProtocol === 'h2') continue;
      const moved = socket.bytesRead + socket.bytesWritten;
      if (moved !== socket[MOVED] || ((socket[ACTIVE] ?? 0) > 0 && socket.writableLength === 0)) {
        socket[MOVED] = moved;
        socket[MOVED_AT] = now;
      } else if (now - (socket[MOVED_AT] ?? now) >= idleMs) {
        socket.destroy();
      }
    }
  }

  /** GOAWAY to every h2 session: clients finish their streams and open a new connection. */
  goAwayAll(): void {
    for (const s of this.#sessions) closeSession(s);
  }

  /** Certificates re-read from disk (SIGHUP); connections keep the context they started with. */
  reloadCertificates(): void {
    const certs = this.#deps.certificates;
    if (!certs) return;
    certs.reload();
    for (const l of this.listeners) {
      if (l.tls) (l.server as Http2SecureServer).setSecureContext(certs.defaultOptions);
    }
  }

  /**
   * Stop accepting, tell open connections to go (GOAWAY, Connection: close, idle keep-alive
   * closed), let in-flight requests finish. Resolves when every connection is closed, or at
   * the deadline after destroying what is left.
   */
  async close(deadlineMs: number): Promise<{ forced: number }> {
    this.#closing = true;
    clearInterval(this.#idleSweep);
    this.#deps.admission?.close();
    this.#deps.state.draining = true;
    const closed = Promise.all(this.listeners.map((l) => {
      // Node's close() also calls closeIdleConnections(), which destroys a keep-alive socket
      // whose next request has arrived but is not parsed yet: that request is lost. The idle
      // window below closes idle connections instead, after telling busy ones to go.
      (l.server as { closeIdleConnections?: () => void }).closeIdleConnections = () => undefined;
      return new Promise<void>((r) => l.server.close(() => r()));
    }));
    for (const s of this.#sessions) closeSession(s);
    // Idle HTTP/1.1 keep-alive connections are not cut at once: a client may be sending its
    // next request right now, and a close crossing it loses that request. Instead the next
    // response on each carries Connection: close; connections still idle after a short
    // window are closed then (Envoy's drain does the same).
    const idleWindow = Math.min(this.#deps.config.limits.keepAliveTimeout, 1000, deadlineMs);
    const drainStart = performance.now();
    const idleTimer = setInterval(() => {
      const cutoff = performance.now() - idleWindow;
      for (const socket of this.#sockets) {
        if ((socket as TLSSocket).alpnProtocol === 'h2' || (socket[ACTIVE] ?? 0) !== 0) continue;
        // Idle for a whole window since the drain began or since its last response.
        if (Math.max(socket[IDLE_SINCE] ?? 0, drainStart) <= cutoff) socket.end();
      }
    }, Math.max(50, Math.floor(idleWindow / 4)));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((r) => { timer = setTimeout(() => r('deadline'), deadlineMs); });
    const outcome = await Promise.race([closed.then(() => 'closed' as const), deadline]);
    clearTimeout(timer);
    clearInterval(idleTimer);
    let forced = 0;
    if (outcome === 'deadline') {
      for (const s of this.#sessions) { forced++; s.destroy(); }
      for (const socket of this.#sockets) { forced++; socket.destroy(); }
      await closed;
    }
    return { forced };
  }
}

/**
 * How often Node looks for HTTP/1.1 requests past headersTimeout / requestTimeout. Node only
 * checks every 30 s by default, so a 10 s headers timeout would really be 10-40 s and a
 * slowloris client would hold its connection that much longer. Bounded below so a tiny
 * timeout does not become a busy loop.
 */
function timeoutCheckInterval(cfg: Readonly<Config>): number {
  return Math.max(100, Math.min(1000, Math.floor(Math.min(cfg.limits.headersTimeout, cfg.limits.requestTimeout) / 2)));
}

/** How often #sweepIdle runs: a connection is closed between idleTimeout and idleTimeout + this. */
export function idleSweepInterval(idleMs: number): number {
  return Math.max(100, Math.min(5000, Math.floor(idleMs / 4)));
}

/** A request in interval `epoch` (h1 on the socket, h2 on its session), or an h1 request in progress. */
function isBusy(socket: TrackedSocket, epoch: number): boolean {
  const session = socket[SESSION] as EpochSession | undefined;
  return (session ? session[REQUEST_EPOCH] : socket[REQUEST_EPOCH]) === epoch || (socket[ACTIVE] ?? 0) > 0;
}

function closeSession(session: Http2Session): void {
  // GOAWAY now; the session closes by itself once its open streams are done.
  if (!session.closed && !session.destroyed) session.close();
}
