// limits.idleTimeout: a connection on which nothing moves for that long is closed. HTTP/1.1
// connections are checked by a periodic sweep (not a timer per socket, which cost every
// read and write a timer refresh); h2 sessions by Node's session timer. What a client sees:
// a silent connection goes away, a talking one or one waiting on a slow origin does not.
import { connect as netConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { idleSweepInterval } from '../../src/server/edge-server.js';
import { h2Request, h2Session, tlsSocket, waitFor } from '../helpers/clients.js';
import { startEdge, startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import type { TestOrigin } from '../helpers/origin.js';

const IDLE_MS = 600;
// Closed between idleTimeout and idleTimeout + one sweep; the upper bound only catches "never".
const LATEST_MS = IDLE_MS + idleSweepInterval(IDLE_MS) + 3000;

let origin: TestOrigin;
let edge: TestEdge;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost'], origins: [url] }],
    // keep-alive longer than idle, so what closes a connection here is the idle timeout.
    limits: { idleTimeout: `${IDLE_MS}ms`, keepAliveTimeout: '10s' },
    origin: { healthCheck: { path: '' } },
  }));
  ({ origin, edge } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

/** Resolves with how long after `from` the socket closed. */
function closedAfter(socket: { once(e: 'close', f: () => void): unknown }, from: number): Promise<number> {
  return new Promise((resolve) => socket.once('close', () => resolve(performance.now() - from)));
}

describe('limits.idleTimeout over HTTP/1.1 (TLS)', () => {
  it('closes a connection that never sends a request', async () => {
    const start = performance.now();
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    socket.on('error', () => undefined);
    const after = await closedAfter(socket, start);
    expect(after).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(after).toBeLessThan(LATEST_MS);
    await waitFor(() => edge.runtime.edge.openConnections === 0, 'no open connection');
  });

  it('keeps a connection that sends a request now and then for longer than the idle timeout', async () => {
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    let text = '';
    let closed = false;
    socket.on('data', (d: Buffer) => { text += String(d); });
    socket.on('error', () => undefined);
    socket.once('close', () => { closed = true; });
    // 8 requests 250 ms apart: 2 s on one connection, each gap under the idle timeout.
    for (let i = 0; i < 8; i++) {
      socket.write(`GET /talk-${i} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await waitFor(() => text.includes(`"url":"/talk-${i}"`), `response ${i}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(closed).toBe(false);
    expect(origin.seen.map((s) => s.url)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `/talk-${i}`));
    socket.destroy();
  });

  it('does not close a connection whose request waits on a slow origin', async () => {
    origin.handler = (_req, res) => { setTimeout(() => { res.writeHead(200, { 'content-length': '4' }); res.end('slow'); }, IDLE_MS * 3); };
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    let text = '';
    socket.on('data', (d: Buffer) => { text += String(d); });
    socket.on('error', () => undefined);
    socket.write('GET /slow-origin HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => text.endsWith('\r\n\r\nslow'), 'the slow answer', 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it('closes a connection whose client stops reading its response, and logs the request as cut short', async () => {
    // Far more than the socket buffers hold, so the edge has bytes waiting for the client.
    const chunk = Buffer.alloc(64 * 1024, 120);
    let originClosed = false;
    origin.streaming = true;
    origin.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length * 2048) });
      let sent = 0;
      const pump = (): void => {
        while (sent < 2048 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      res.on('close', () => { originClosed = true; });
      pump();
    };
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    socket.on('error', () => undefined);
    let got = 0;
    let stopped = false;
    const start = performance.now();
    socket.on('data', (d: Buffer) => {
      got += d.length;
      // The head and the first bytes, then this client stops reading (once).
      if (got > 256 * 1024 && !stopped) { stopped = true; socket.pause(); }
    });
    const closed = closedAfter(socket, start);
    socket.write('GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n');
    // The edge gives up on the connection: its request is over and logged as cut short.
    const logged = (): Record<string, unknown> | undefined => edge.logs.find((l) => l['msg'] === 'request' && l['path'] === '/big');
    await waitFor(() => logged() !== undefined, 'the request to end', LATEST_MS);
    expect(performance.now() - start).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(logged()).toMatchObject({ status: 200, aborted: true });
    expect(edge.runtime.pipeline.inflight).toBe(0);
    // Reading again, the client gets what was already on its way, then the close: a body
    // cut short of its Content-Length, never a whole-looking one.
    socket.resume();
    await closed;
    expect(got).toBeLessThan(chunk.length * 2048);
    // The origin's side is let go too, not left streaming into a dead connection.
    await waitFor(() => originClosed, 'the origin response to be closed');
  });
});

describe('limits.idleTimeout over h2', () => {
  it('closes a session that has been quiet for the idle timeout after its last stream', async () => {
    const session = await h2Session(edge.port, edge.pki.caFile);
    session.on('error', () => undefined);
    const r = await h2Request(session, { ':path': '/h2-once', ':authority': 'localhost' });
    expect(r.status).toBe(200);
    const start = performance.now();
    const after = await closedAfter(session, start);
    expect(after).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(after).toBeLessThan(LATEST_MS);
  });
});

describe('limits.idleTimeout on a plain HTTP listener', () => {
  let plain: TestEdge | undefined;
  afterEach(async () => { await plain?.close(); plain = undefined; });

  it('closes a connection that never sends a request', async () => {
    plain = await startEdge({
      listeners: [{ address: '127.0.0.1', port: 0, tls: false }],
      hosts: [{ names: ['localhost'], origins: [origin.url] }],
      limits: { idleTimeout: `${IDLE_MS}ms`, keepAliveTimeout: '10s' },
      cache: { enabled: false }, overload: { enabled: false }, origin: { healthCheck: { path: '' } },
    });
    const start = performance.now();
    const socket = netConnect(plain.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const after = await closedAfter(socket, start);
    expect(after).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(after).toBeLessThan(LATEST_MS);
  });
});
