// WebSocket through the edge: a ws client over TLS to the edge, a ws server on the origin.
// Messages go both ways, closes propagate both ways, the origin sees the forwarding fields,
// and an origin (or host) that refuses the upgrade gives the client an error status.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../helpers/clients.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';

interface WsOrigin {
  url: string;
  upgrades: IncomingHttpHeaders[];
  urls: string[];
  closes: number[];
  server: Server;
  wss: WebSocketServer;
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** An echo WebSocket origin: greets, echoes text as "echo:<text>" and binary as is. */
async function wsOrigin(opts: { refuse?: number } = {}): Promise<WsOrigin> {
  const server = createServer((_req, res) => { res.writeHead(426); res.end(); });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  const wss = new WebSocketServer({ noServer: true });
  const o: WsOrigin = { url: '', upgrades: [], urls: [], closes: [], server, wss };
  server.on('upgrade', (req, socket, head) => {
    o.upgrades.push(req.headers);
    o.urls.push(req.url ?? '');
    if (opts.refuse) {
      socket.end(`HTTP/1.1 ${opts.refuse} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('welcome');
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo:${String(data)}`, { binary: isBinary }));
      ws.on('close', (code) => o.closes.push(code));
      if (req.url === '/server-closes') setTimeout(() => ws.close(4001, 'bye'), 50);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  o.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.push(async () => {
    for (const c of wss.clients) c.terminate();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return o;
}

async function edgeFor(origin: string): Promise<TestEdge> {
  const edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin] }], cache: { enabled: false }, overload: { enabled: false }, origin: { healthCheck: { path: '' } } });
  cleanup.push(() => edge.close());
  return edge;
}

function client(edge: TestEdge, path: string, headers: Record<string, string> = {}): WebSocket {
  const ws = new WebSocket(`wss://localhost:${edge.port}${path}`, { ca: readFileSync(edge.pki.caFile), headers });
  cleanup.push(() => { ws.terminate(); });
  return ws;
}

/** The next n messages on ws, as strings (text) or Buffers (binary). */
function messages(ws: WebSocket, n: number): Promise<Array<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const got: Array<string | Buffer> = [];
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push(isBinary ? Buffer.from(data) : String(data));
      if (got.length === n) { ws.off('message', onMessage); resolve(got); }
    };
    ws.on('message', onMessage);
    ws.once('error', reject);
  });
}

/** The status the client got instead of 101, or the error when there was none. */
function refusal(ws: WebSocket): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += String(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => resolve({ error: e.message }));
  });
}

describe('WebSocket tunnelling', () => {
  it('carries text and binary messages both ways', async () => {
    const o = await wsOrigin();
    const edge = await edgeFor(o.url);
    const ws = client(edge, '/chat?room=1');
    const first = messages(ws, 1);
    await once(ws, 'open');
    expect(await first).toEqual(['welcome']);
    const replies = messages(ws, 3);
    ws.send('hello');
    ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
    ws.send('x'.repeat(256 * 1024)); // several TLS records and frames
    const [a, b, c] = await replies;
    expect(a).toBe('echo:hello');
    expect(b).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(c).toBe(`echo:${'x'.repeat(256 * 1024)}`);
    expect(o.urls).toEqual(['/chat?room=1']);
  });

  it('shows the origin the forwarding fields and the client\'s Host', async () => {
    const o = await wsOrigin();
    const edge = await edgeFor(o.url);
    const ws = client(edge, '/fwd', { 'x-forwarded-for': '6.6.6.6' });
    await once(ws, 'open');
    const h = o.upgrades[0]!;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['forwarded']).toBe(`for=127.0.0.1;proto=https;host="localhost:${edge.port}"`);
    expect(h['via']).toBe('1.1 anyedge');
    expect(h.host).toBe(`localhost:${edge.port}`);
    expect(h['x-request-id']).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(h.upgrade?.toLowerCase()).toBe('websocket');
    expect(h['sec-websocket-key']).toBeDefined();
  });

  it('passes a close from the client to the origin, and the edge lets go of both sockets', async () => {
    const o = await wsOrigin();
    const edge = await edgeFor(o.url);
    const ws = client(edge, '/bye');
    await once(ws, 'open');
    ws.close(4000, 'done');
    await waitFor(() => o.closes.length === 1, 'the origin to see the close');
    expect(o.closes).toEqual([4000]);
    await waitFor(() => edge.runtime.edge.openConnections === 0, 'the edge to close the client connection');
    expect(edge.logs.some((l) => l['msg'] === 'upgrade' && l['status'] === 101)).toBe(true);
  });

  it('passes a close from the origin to the client', async () => {
    const o = await wsOrigin();
    const edge = await edgeFor(o.url);
    const ws = client(edge, '/server-closes');
    const [code, reason] = await once(ws, 'close') as [number, Buffer];
    expect(code).toBe(4001);
    expect(String(reason)).toBe('bye');
    await waitFor(() => edge.runtime.edge.openConnections === 0, 'the edge to close the client connection');
  });

  it('gives the client an error status when the origin refuses the upgrade', async () => {
    const o = await wsOrigin({ refuse: 403 });
    const edge = await edgeFor(o.url);
    const r = await refusal(client(edge, '/nope'));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(o.upgrades).toHaveLength(1);
    await waitFor(() => edge.logs.some((l) => l['msg'] === 'upgrade'), 'the upgrade log line');
    expect(edge.logs.find((l) => l['msg'] === 'upgrade')!['status']).toBe(r.status);
  });

  it('gives the client 502 when the origin is down', async () => {
    const o = await wsOrigin();
    const url = o.url;
    const edge = await edgeFor(url);
    await cleanup.splice(0, 1)[0]!(); // close the origin (registered first)
    const r = await refusal(client(edge, '/down'));
    expect(r.status).toBe(502);
    expect(r.body).toMatch(/ECONNREFUSED/);
  });

  it('answers 421 to an upgrade for a host not served here, without reaching the origin', async () => {
    const o = await wsOrigin();
    const edge = await edgeFor(o.url);
    const r = await refusal(client(edge, '/elsewhere', { host: 'elsewhere.example' }));
    expect(r.status).toBe(421);
    expect(o.upgrades).toHaveLength(0);
  });
});
