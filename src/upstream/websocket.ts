// WebSocket (HTTP/1.1 Upgrade) tunnelled to the origin through the same undici pools as
// every other request — same CA, mTLS, timeouts and origin choice — with undici's
// upgrade(): once the origin answers 101 the two sockets are joined byte for byte.
//
// Why not http-proxy: its last release is from 2020, it keeps its own agent and TLS
// settings apart from undici's, and its ws path has long-open socket-leak issues. undici is
// already here, maintained by the Node.js project, and gives us the raw socket we need.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AnyedgeError, fromUpstreamError, statusFor } from '../errors.js';
import type { Logger } from '../log.js';
import { connectionTokens, upstreamRequestHeaders } from '../proxy/filters/headers.js';
import type { HostRouter } from '../proxy/hosts.js';
import { newRequestId } from '../proxy/context.js';
import type { VirtualHost } from '../proxy/virtual-host.js';
import { reasonPhrase } from '../proxy/fail.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface WebSocketDeps {
  router: HostRouter<VirtualHost>;
  name: string;
  trustForwarded: boolean;
  log: Logger;
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = `${status} ${reasonPhrase(status)}: ${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function createUpgradeHandler(deps: WebSocketDeps): UpgradeHandler {
  return (req, socket, head) => {
    const id = newRequestId();
    const started = performance.now();
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const host = req.headers.host;
    const log = (status: number, err?: unknown): void => {
      deps.log[err ? 'warn' : 'info']({ reqId: id, proto: 'h1', method: req.method, host, path: req.url, status, upgrade, durMs: Math.round(performance.now() - started), ...(err ? { err: { code: (err as { code?: string }).code, message: (err as Error).message } } : {}) }, 'upgrade');
    };
    socket.on('error', () => undefined);
    if (upgrade !== 'websocket' || req.method !== 'GET') {
      refuse(socket, 400, 'only WebSocket upgrades (GET, Upgrade: websocket) are supported');
      log(400);
      return;
    }
    const vhost = deps.router.match(host);
    if (!vhost) {
      refuse(socket, 421, `host "${host ?? ''}" is not served here`);
      log(421);
      return;
    }
    const origin = vhost.origins.pick();
    if (!origin) {
      refuse(socket, 502, 'this host has no origin configured');
      log(502);
      return;
    }
    const headers = upstreamRequestHeaders(req.headers, {
      clientIp: req.socket.remoteAddress ?? '',
      proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      host: host ?? '',
      httpVersion: '1.1',
      name: deps.name,
      requestId: id,
      trustForwarded: deps.trustForwarded,
      upstreamHost: host ?? '',
    });
    // undici sets Connection/Upgrade itself from `protocol`.
    for (const n of connectionTokens(req.headers.connection)) delete headers[n];
    const ac = new AbortController();
    socket.once('close', () => ac.abort());
    origin.pool
      .upgrade({ path: req.url ?? '/', method: 'GET', headers, protocol: 'websocket', signal: ac.signal })
      .then(({ headers: resHeaders, socket: upstream }) => {
        if (socket.destroyed) {
          upstream.destroy();
          return;
        }
        let response = 'HTTP/1.1 101 Switching Protocols\r\n';
        for (const [name, value] of Object.entries(resHeaders)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) response += `${name}: ${v}\r\n`;
        }
        socket.write(`${response}\r\n`);
        if (head.length) upstream.write(head);
        socket.pipe(upstream).pipe(socket);
        const done = (): void => {
          upstream.destroy();
          socket.destroy();
        };
        upstream.on('error', done).on('close', done);
        socket.on('close', done);
        log(101);
      })
      .catch((err: unknown) => {
        const e = err instanceof AnyedgeError ? err : fromUpstreamError(err, origin.url);
        // undici reports an origin that answers without 101 as a socket error: say so.
        const status = /upgrade/i.test((err as Error).message ?? '') ? 502 : statusFor(e);
        if (!socket.destroyed) refuse(socket, status, e.message);
        log(status, err);
      });
  };
}
