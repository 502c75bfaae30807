// Clients that hold a connection without finishing a request, or keep an idle keep-alive
// connection: the edge answers 408 when the headers (or the whole request) do not arrive in
// time, and closes idle keep-alive connections after limits.keepAliveTimeout.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, tlsSocket, waitFor } from '../helpers/clients.js';
import { startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import { watchUploads, type TestOrigin } from '../helpers/origin.js';

let origin: TestOrigin;
let edge: TestEdge;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost'], origins: [url] }],
    limits: { headersTimeout: '500ms', requestTimeout: '1500ms', keepAliveTimeout: '1s' },
    origin: { healthCheck: { path: '' } },
  }));
  ({ origin, edge } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

describe('timeouts for slow requests', () => {
  it('answers 408 and closes when the headers do not arrive within limits.headersTimeout', async () => {
    const started = Date.now();
    // Headers never finished: no blank line.
    const r = await rawExchange(edge.port, edge.pki.caFile, 'GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Partial: ', 20_000);
    expect(r.status).toBe(408);
    expect(r.text).toContain('Connection: close');
    expect(r.closed).toBe(true);
    // Generous bound: well under Node's 30 s default check interval, which would hide the limit.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(origin.seen).toHaveLength(0);
    expect(edge.logs.some((l) => l['msg'] === 'client error' && l['status'] === 408)).toBe(true);
  });

  it('answers 408 to a client that trickles its headers past the limit', async () => {
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    let text = '';
    socket.on('data', (d: Buffer) => { text += String(d); });
    socket.on('error', () => undefined);
    const closed = new Promise((r) => socket.once('close', r));
    socket.write('GET /trickle HTTP/1.1\r\nHost: localhost\r\n');
    // One header line every 200 ms: each arrives, the whole never does in time.
    const timer = setInterval(() => { if (!socket.destroyed) socket.write('X-Drip: 1\r\n'); }, 200);
    try {
      await closed;
    } finally {
      clearInterval(timer);
    }
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(origin.seen).toHaveLength(0);
  });

  it('answers 408 when the body does not arrive within limits.requestTimeout, and the origin sees the request cut', async () => {
    const originSaw = watchUploads(origin);
    const r = await rawExchange(edge.port, edge.pki.caFile, 'POST /slow-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly part of it', 20_000);
    expect(r.status).toBe(408);
    expect(r.closed).toBe(true);
    await waitFor(() => originSaw() !== undefined, 'the origin to see the request end');
    expect(originSaw()).toBe('aborted');
    await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
  });
});

describe('keep-alive', () => {
  it('keeps a connection for the next request, then closes it after limits.keepAliveTimeout idle', async () => {
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    let text = '';
    socket.on('data', (d: Buffer) => { text += String(d); });
    socket.on('error', () => undefined);
    let closedAt = 0;
    socket.once('close', () => { closedAt = Date.now(); });
    socket.write('GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => text.includes('"url":"/one"'), 'the first response');
    expect(text).toMatch(/Keep-Alive: timeout=1\r\n/);
    socket.write('GET /two HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => text.includes('"url":"/two"'), 'the second response on the same connection');
    // Idle now: the edge closes it cleanly (FIN, no error) once its keep-alive timer fires.
    let ended = false;
    socket.once('end', () => { ended = true; });
    await waitFor(() => closedAt > 0, 'the edge to close the idle connection', 15_000);
    expect(ended).toBe(true);
    expect(origin.seen.map((s) => s.url)).toEqual(['/one', '/two']);
    await waitFor(() => edge.runtime.edge.openConnections === 0, 'no open connection');
  });

  it('does not close a connection that is busy past the keep-alive timeout', async () => {
    origin.handler = (_req, res) => { setTimeout(() => { res.writeHead(200, { 'content-length': '4' }); res.end('slow'); }, 1300); };
    const r = await rawExchange(edge.port, edge.pki.caFile, 'GET /busy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 20_000);
    expect(r.status).toBe(200);
    expect(r.text.endsWith('\r\n\r\nslow')).toBe(true);
  });
});
