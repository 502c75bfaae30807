// What the origin sees of a client's request, and what the client sees of the origin's
// response: forwarding fields set by the edge (never taken from the internet), Via, the
// request id, Host, and hop-by-hop fields stopped at the edge in both directions.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get, h2Request, h2Session, rawExchange, testAgent } from '../helpers/clients.js';
import { startEdge, startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import type { SeenRequest, TestOrigin } from '../helpers/origin.js';
import type { Agent } from 'undici';

let origin: TestOrigin;
let edge: TestEdge;
let agent: Agent;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost', 'www.example.test'], origins: [url] }],
  }));
  ({ origin, edge, agent } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

function only(): SeenRequest {
  expect(origin.seen).toHaveLength(1);
  return origin.seen[0]!;
}

/** How many times a field name occurs in what the origin received. */
function occurrences(seen: SeenRequest, name: string): number {
  return seen.rawHeaders.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name).length;
}

const GENERATED_ID = /^[0-9a-f]{12}-[0-9a-z]+$/;

describe('forwarding fields (trustForwarded: false, the default)', () => {
  it('sets Forwarded, X-Forwarded-* and Via from the connection, replacing what the client sent', async () => {
    const r = await get(agent, `https://localhost:${edge.port}/fwd?q=1`, {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'evil.example',
      'x-real-ip': '6.6.6.6',
      forwarded: 'for=6.6.6.6;host=evil.example',
      via: '1.0 fred',
    });
    expect(r.status).toBe(200);
    const seen = only();
    expect(seen.url).toBe('/fwd?q=1');
    const h = seen.headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-forwarded-host']).toBe(`localhost:${edge.port}`);
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['forwarded']).toBe(`for=127.0.0.1;proto=https;host="localhost:${edge.port}"`);
    // Via is a chain: the client's hop is kept, ours appended.
    expect(h['via']).toBe('1.0 fred, 1.1 anyedge');
    for (const n of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'via']) expect(occurrences(seen, n)).toBe(1);
    // The client sees Via on the response too.
    expect(r.headers['via']).toBe('1.1 anyedge');
  });

  it('preserves the client\'s Host (Host, not SNI, picks the virtual host)', async () => {
    // SNI says localhost (rawExchange), Host says www.example.test.
    const r = await rawExchange(edge.port, edge.pki.caFile, 'GET /h HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(only().headers.host).toBe('www.example.test');
    expect(occurrences(only(), 'host')).toBe(1);
  });

  it('quotes and brackets an IPv6 client in Forwarded (RFC 7239 §6)', async () => {
    const e6 = await startEdge({ listeners: [{ address: '::1', port: 0, tls: true }], hosts: [{ names: ['localhost'], origins: [origin.url] }], cache: { enabled: false }, overload: { enabled: false } });
    const a6 = testAgent(e6.pki.caFile, { servername: 'localhost' });
    try {
      const r = await get(a6, `https://[::1]:${e6.port}/v6`, { host: 'localhost' });
      expect(r.status).toBe(200);
      const h = only().headers;
      expect(h['forwarded']).toBe('for="[::1]";proto=https;host="localhost"');
      expect(h['x-forwarded-for']).toBe('::1');
    } finally {
      await a6.close();
      await e6.close();
    }
  });

  it('marks an h2 request as https with Via 2 and turns :authority into Host', async () => {
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const r = await h2Request(s, { ':method': 'GET', ':path': '/h2', ':authority': `localhost:${edge.port}`, 'x-forwarded-for': '6.6.6.6' });
      expect(r.status).toBe(200);
    } finally {
      s.close();
    }
    const h = only().headers;
    expect(h.host).toBe(`localhost:${edge.port}`);
    expect(h['via']).toBe('2 anyedge');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(Object.keys(h).some((k) => k.startsWith(':'))).toBe(false);
  });

  it('appends to the client\'s forwarding fields when trustForwarded is set', async () => {
    // Cache off: on a cacheable GET the cache drops the client's Forwarded (and X-Forwarded-Host
    // etc.) as unkeyed fields before this filter runs; that is its rule, tested with it.
    const trusting = await startEdge({ trustForwarded: true, hosts: [{ names: ['localhost'], origins: [origin.url] }], cache: { enabled: false }, overload: { enabled: false } });
    const a = testAgent(trusting.pki.caFile);
    try {
      await get(a, `https://localhost:${trusting.port}/t`, { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7' });
      const h = only().headers;
      expect(h['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
      expect(h['forwarded']).toBe(`for=203.0.113.7, for=127.0.0.1;proto=https;host="localhost:${trusting.port}"`);
    } finally {
      await a.close();
      await trusting.close();
    }
  });
});

describe('with the cache on (the default), a cacheable GET', () => {
  it('still reaches the origin with the edge\'s forwarding fields only', async () => {
    const cached = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }], overload: { enabled: false } });
    const a = testAgent(cached.pki.caFile);
    try {
      const r = await get(a, `https://localhost:${cached.port}/cacheable`, {
        'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', forwarded: 'for=6.6.6.6', 'x-request-id': 'trace-1',
      });
      expect(r.status).toBe(200);
      const h = only().headers;
      expect(h['x-forwarded-for']).toBe('127.0.0.1');
      expect(h['x-forwarded-host']).toBe(`localhost:${cached.port}`);
      expect(h['forwarded']).toBe(`for=127.0.0.1;proto=https;host="localhost:${cached.port}"`);
      expect(h['via']).toBe('1.1 anyedge');
      expect(h['x-request-id']).toBe('trace-1');
      expect(r.headers['x-request-id']).toBe('trace-1');
    } finally {
      await a.close();
      await cached.close();
    }
  });
});

describe('request id', () => {
  it('generates one when the client sends none, and the origin and client see the same', async () => {
    const r = await get(agent, `https://localhost:${edge.port}/id`);
    const id = only().headers['x-request-id'];
    expect(id).toMatch(GENERATED_ID);
    expect(r.headers['x-request-id']).toBe(id);
    expect(edge.logs.some((l) => l['msg'] === 'request' && l['reqId'] === id)).toBe(true);
  });

  it('propagates a plain client id', async () => {
    const r = await get(agent, `https://localhost:${edge.port}/id`, { 'x-request-id': 'trace-0af7651916cd43dd' });
    expect(only().headers['x-request-id']).toBe('trace-0af7651916cd43dd');
    expect(r.headers['x-request-id']).toBe('trace-0af7651916cd43dd');
  });

  it.each([
    ['with spaces and markup', 'a b <script>'],
    ['too long', 'x'.repeat(129)],
  ])('replaces a garbage id (%s)', async (_what, bad) => {
    const r = await get(agent, `https://localhost:${edge.port}/id`, { 'x-request-id': bad });
    const id = only().headers['x-request-id'];
    expect(id).toMatch(GENERATED_ID);
    expect(r.headers['x-request-id']).toBe(id);
  });
});

describe('hop-by-hop fields', () => {
  it('removes hop-by-hop request fields and every field Connection names', async () => {
    const req = [
      'GET /hop HTTP/1.1',
      `Host: localhost:${edge.port}`,
      'Connection: X-Drop-Me, x-also-dropped, close',
      'X-Drop-Me: secret',
      'X-Also-Dropped: secret',
      'Keep-Alive: timeout=300',
      'TE: trailers, deflate',
      'Trailer: X-Checksum',
      'Proxy-Authorization: Basic c2VjcmV0',
      'Proxy-Connection: keep-alive',
      'X-Kept: yes',
      '', '',
    ].join('\r\n');
    const r = await rawExchange(edge.port, edge.pki.caFile, req);
    expect(r.status).toBe(200);
    const h = only().headers;
    for (const n of ['x-drop-me', 'x-also-dropped', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']) expect(h[n], n).toBeUndefined();
    expect(h['connection'] ?? 'keep-alive').toMatch(/^(keep-alive|close)$/i); // the edge's own link to the origin
    expect(h['x-kept']).toBe('yes');
  });

  it('answers Expect: 100-continue at the edge and forwards the body without the expectation (h1)', async () => {
    // curl sends this for any upload over 1 MiB; undici refuses to send it on, which once made it a 502.
    const r = await rawExchange(edge.port, edge.pki.caFile, [
      'POST /upload HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n',
      'hello',
    ]);
    expect(r.status).toBe(100);
    expect(r.text).toMatch(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    const seen = only();
    expect(seen.body.toString()).toBe('hello');
    expect(seen.headers['expect']).toBeUndefined();
  });

  it('removes hop-by-hop response fields and every field the origin\'s Connection names (h1)', async () => {
    origin.handler = (_req, res) => {
      res.writeHead(200, {
        connection: 'X-Origin-Hop, keep-alive',
        'x-origin-hop': 'secret',
        'keep-alive': 'timeout=99, max=7',
        'proxy-authenticate': 'Basic realm="origin"',
        upgrade: 'h2c',
        'x-end-to-end': 'kept',
        'content-length': '2',
      });
      res.end('ok');
    };
    const r = await rawExchange(edge.port, edge.pki.caFile, `GET /hop HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(200);
    const head = r.text.split('\r\n\r\n')[0]!.toLowerCase();
    expect(head).not.toContain('x-origin-hop');
    expect(head).not.toContain('timeout=99');
    expect(head).not.toContain('proxy-authenticate');
    expect(head).not.toContain('upgrade');
    expect(head).toContain('x-end-to-end: kept');
    expect(r.text.endsWith('\r\n\r\nok')).toBe(true);
  });

  it('sends an origin response with connection-specific fields to an h2 client without them', async () => {
    origin.handler = (_req, res) => {
      res.writeHead(200, { connection: 'keep-alive, x-origin-hop', 'keep-alive': 'timeout=5', 'x-origin-hop': '1', 'transfer-encoding': 'chunked' });
      res.end('chunked body');
    };
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const r = await h2Request(s, { ':method': 'GET', ':path': '/hop-h2', ':authority': 'localhost' });
      expect(r.status).toBe(200);
      expect(r.body).toBe('chunked body');
      for (const n of ['connection', 'keep-alive', 'x-origin-hop', 'transfer-encoding']) expect(r.headers[n], n).toBeUndefined();
    } finally {
      s.close();
    }
  });
});
