// Requests the edge refuses before (or while) forwarding, as a client sees them on HTTP/1.1
// and h2, and the proof that nothing refused reached the origin: unknown hosts (421, or
// defaultHost), oversized headers (431), oversized bodies (413), CONNECT (405), and
// absolute-form targets (served host: forwarded; foreign host: 421 — never an open proxy).
import { request, type Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { h2Request, h2Session, rawExchange, waitFor } from '../helpers/clients.js';
import { startEdge, startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import { watchUploads, type TestOrigin } from '../helpers/origin.js';

let origin: TestOrigin;
let edge: TestEdge;
let agent: Agent;
let proxied: ProxiedEdge | undefined;

const MAX_HEADER = 4096;
const MAX_BODY = 64 * 1024;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost', 'served.test'], origins: [url] }],
    limits: { maxHeaderSize: MAX_HEADER, maxBodySize: MAX_BODY },
    origin: { healthCheck: { path: '' } },
  }));
  ({ origin, edge, agent } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

const raw = (text: string) => rawExchange(edge.port, edge.pki.caFile, text);

async function h2(headers: Record<string, string>, body?: string) {
  const s = await h2Session(edge.port, edge.pki.caFile);
  try {
    return await h2Request(s, headers, body);
  } finally {
    s.close();
  }
}

describe('Host routing', () => {
  it('answers 421 to an unconfigured Host on HTTP/1.1', async () => {
    const r = await raw('GET / HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(421);
    expect(r.text).toContain('host "elsewhere.example" is not served here');
    expect(origin.seen).toHaveLength(0);
  });

  it('answers 421 to an unconfigured :authority on h2', async () => {
    const r = await h2({ ':method': 'GET', ':path': '/', ':authority': 'elsewhere.example' });
    expect(r.status).toBe(421);
    expect(origin.seen).toHaveLength(0);
  });

  it('answers 400 to an HTTP/1.1 request without Host, and to one with two', async () => {
    expect((await raw('GET / HTTP/1.1\r\nConnection: close\r\n\r\n')).status).toBe(400);
    const two = await raw('GET / HTTP/1.1\r\nHost: localhost\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n');
    expect(two.status).toBe(400);
    expect(two.text).toContain('more than one Host header');
    expect(origin.seen).toHaveLength(0);
  });

  it('sends an unconfigured Host to defaultHost when one is set', async () => {
    const e = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }], defaultHost: 'localhost', cache: { enabled: false }, overload: { enabled: false }, origin: { healthCheck: { path: '' } } });
    try {
      const r = await rawExchange(e.port, e.pki.caFile, 'GET /fallback HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n');
      expect(r.status).toBe(200);
      expect(origin.seen.map((s) => s.url)).toEqual(['/fallback']);
    } finally {
      await e.close();
    }
  });
});

describe('431 for oversized headers', () => {
  it('HTTP/1.1: the parser limit answers 431 and closes', async () => {
    const r = await raw(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(MAX_HEADER * 2)}\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(r.closed).toBe(true);
    expect(origin.seen).toHaveLength(0);
  });

  it('h2: headers over limits.maxHeaderSize answer 431', async () => {
    const r = await h2({ ':method': 'GET', ':path': '/', ':authority': 'localhost', 'x-big': 'a'.repeat(MAX_HEADER + 100) });
    expect(r.status).toBe(431);
    expect(origin.seen).toHaveLength(0);
  });

  it('h2: headers beyond the advertised SETTINGS_MAX_HEADER_LIST_SIZE also answer 431', async () => {
    // Past the list size the edge advertises (2 × maxHeaderSize + 1 KiB) Node answers 431
    // itself, before the pipeline sees the request.
    const r = await h2({ ':method': 'GET', ':path': '/', ':authority': 'localhost', 'x-big': 'a'.repeat(MAX_HEADER * 4) });
    expect(r.status).toBe(431);
    expect(origin.seen).toHaveLength(0);
  });
});

describe('413 for oversized bodies', () => {
  it('HTTP/1.1: a Content-Length over the limit is refused before any body is read', async () => {
    const r = await raw(`POST /big HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`);
    expect(r.status).toBe(413);
    expect(r.text.toLowerCase()).toContain('connection: close');
    expect(origin.seen).toHaveLength(0);
  });

  it('h2: a content-length over the limit is refused', async () => {
    const r = await h2({ ':method': 'POST', ':path': '/big', ':authority': 'localhost', 'content-length': String(MAX_BODY + 1) }, 'x'.repeat(MAX_BODY + 1));
    expect(r.status).toBe(413);
    expect(r.body).toContain(`exceeds the limit of ${MAX_BODY}`);
    // The client's upload is stopped (RST_STREAM NO_ERROR after the answer), so the stream
    // ends on both sides: the request is logged and nothing stays in flight.
    expect(r.rstCode ?? 0).toBe(0);
    await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
    expect(origin.seen).toHaveLength(0);
  });

  it('HTTP/1.1: a chunked body that grows past the limit is cut: 413, and the origin never gets it whole', async () => {
    const originSaw = watchUploads(origin);
    const chunk = 'y'.repeat(16 * 1024);
    const chunks = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const r = await raw(`POST /chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
    expect(r.status).toBe(413);
    expect(r.text).toContain(`exceeds the limit of ${MAX_BODY} bytes`);
    await waitFor(() => originSaw() !== undefined, 'the origin to see the request end');
    expect(originSaw()).toBe('aborted');
  });

  it('h2: a body without content-length that grows past the limit answers 413', async () => {
    origin.streaming = true;
    origin.handler = (req) => { req.resume(); req.on('error', () => undefined); };
    const r = await h2({ ':method': 'POST', ':path': '/h2-stream', ':authority': 'localhost' }, 'z'.repeat(MAX_BODY * 2));
    expect(r.status).toBe(413);
    expect(r.body).toContain(`exceeds the limit of ${MAX_BODY}`);
    await waitFor(() => edge.logs.some((l) => l['msg'] === 'request' && l['path'] === '/h2-stream' && l['status'] === 413), 'the 413 log line');
    await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
  });

  it('a body within the limit is forwarded', async () => {
    const r = await request(`https://localhost:${edge.port}/ok`, { method: 'POST', body: 'k'.repeat(MAX_BODY), dispatcher: agent });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(origin.seen[0]!.body.length).toBe(MAX_BODY);
  });
});

describe('CONNECT is refused', () => {
  it('HTTP/1.1: 405 with Allow, and the connection closes', async () => {
    const r = await raw('CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n');
    expect(r.status).toBe(405);
    expect(r.text).toMatch(/\r\nallow: GET, HEAD/i);
    expect(r.closed).toBe(true);
    expect(origin.seen).toHaveLength(0);
  });

  it('h2: 405', async () => {
    const r = await h2({ ':method': 'CONNECT', ':authority': 'origin.example:443' });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toMatch(/GET/);
    expect(r.body).toContain('CONNECT is not supported');
    expect(origin.seen).toHaveLength(0);
  });
});

describe('absolute-form request targets', () => {
  it('refuses a foreign host with 421; the request never reaches the origin', async () => {
    for (const target of ['http://evil.example/steal', 'https://evil.example:8443/x?y=1']) {
      const r = await raw(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      expect(r.status, target).toBe(421);
    }
    expect(origin.seen).toHaveLength(0);
  });

  it('forwards one for a served host as origin-form, with the target\'s authority as Host', async () => {
    const r = await raw('GET https://served.test/abs/path?q=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(origin.seen).toHaveLength(1);
    expect(origin.seen[0]!.url).toBe('/abs/path?q=1');
    expect(origin.seen[0]!.headers.host).toBe('served.test');
  });

  it('refuses a non-HTTP scheme with 400', async () => {
    const r = await raw('GET ftp://localhost/file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(400);
    expect(origin.seen).toHaveLength(0);
  });
});
