// The cache as a client sees it through the whole node: real TLS, real origin, and for
// purge, a real supervisor with two workers.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startEdge, testPki, type TestEdge } from '../helpers/edge.js';
import { startNodeProcess, waitFor, type NodeProcess } from '../helpers/node-process.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

let origin: TestOrigin;
let agent: Agent;
let edge: TestEdge | undefined;
let node: NodeProcess | undefined;

beforeAll(async () => {
  origin = await startOrigin();
  const { pki } = await testPki();
  agent = new Agent({ connect: { ca: readFileSync(pki.caFile) } });
});
afterEach(async () => {
  await edge?.close();
  edge = undefined;
  await node?.stop();
  node = undefined;
  origin.seen.length = 0;
});
afterAll(async () => {
  await agent.close();
  await origin.close();
});

/** The origin's answer names how many times it was asked, so a stored copy is recognisable. */
function countingOrigin(cacheControl = 'public, max-age=60'): void {
  origin.handler = (req, res) => {
    const body = `body #${origin.seen.length} for ${req.url} (x-forwarded-host=${req.headers['x-forwarded-host']})`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': cacheControl, 'surrogate-key': 'all products' });
    res.end(body);
  };
}

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' | 'POST' = 'GET') {
  const r = await request(url, { dispatcher: agent, headers, method, reset: true });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

describe('cache through the node', () => {
  test('a miss is stored, the next request is a hit with Age and Cache-Status', async () => {
    countingOrigin();
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }] });
    const url = `https://localhost:${edge.port}/product/1?color=red`;
    const first = await get(url);
    expect(first.status).toBe(200);
    expect(first.headers['cache-status']).toMatch(/^anyedge; fwd=miss; stored/);
    const second = await get(url);
    expect(second.body).toBe(first.body);
    expect(second.headers['cache-status']).toMatch(/^anyedge; hit; ttl=\d+/);
    expect(second.headers['age']).toMatch(/^\d+$/);
    expect(second.headers['via']).toContain('anyedge');
    expect(origin.seen).toHaveLength(1);
    // HEAD is answered from the stored GET.
    const head = await get(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(origin.seen).toHaveLength(1);
    // The access log carries the cache result.
    const lines = edge.logs.filter((l) => l['path'] === '/product/1?color=red');
    expect(lines.map((l) => String(l['cache']).split(';')[1]?.trim())).toEqual(['fwd=miss', 'hit', 'hit']);
    // Body bytes sent: the body for both GETs, none for the HEAD.
    expect(lines.map((l) => l['bytes'])).toEqual([Buffer.byteLength(first.body), Buffer.byteLength(first.body), undefined]);
  });

  test('an unkeyed header cannot poison the stored response', async () => {
    countingOrigin();
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }] });
    const url = `https://localhost:${edge.port}/page`;
    const poisoned = await get(url, { 'x-forwarded-host': 'evil.example' });
    expect(poisoned.body).not.toContain('evil.example');
    const victim = await get(url);
    expect(victim.body).toBe(poisoned.body);
    expect(victim.body).toContain('x-forwarded-host=localhost');
  });

  test('POST invalidates the stored GET for the same URL', async () => {
    countingOrigin();
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }] });
    const url = `https://localhost:${edge.port}/cart`;
    await get(url);
    expect((await get(url)).headers['cache-status']).toMatch(/hit/);
    expect((await get(url, { 'content-type': 'text/plain' }, 'POST')).status).toBe(200);
    expect((await get(url)).headers['cache-status']).toMatch(/fwd=miss/);
  });

  test('purge through the admin plane reaches every worker and says how many objects went', async () => {
    countingOrigin();
    const { cert, key } = await testPki();
    node = await startNodeProcess({
      workers: 2,
      listeners: [{ address: '127.0.0.1', port: 0 }],
      admin: { address: '127.0.0.1', port: 0 },
      certificates: [{ cert, key }],
      hosts: [{ names: ['localhost'], origins: [origin.url] }],
    });
    const url = `https://localhost:${node.port}/item`;
    // New connections alternate between workers: ask until both have stored it.
    await waitFor(async () => {
      await get(url);
      return node!.logs.filter((l) => l['path'] === '/item' && String(l['cache']).includes('stored')).map((l) => l['worker']).filter((w, i, a) => a.indexOf(w) === i).length === 2;
    }, 10_000, () => 'both workers stored /item');
    const before = origin.seen.length;
    const purge = await request(`${node.adminUrl}/purge`, { method: 'POST', body: JSON.stringify({ url }), headers: { 'content-type': 'application/json' } });
    const answer = await purge.body.json() as { count: number; workers: number };
    expect(purge.statusCode).toBe(200);
    expect(answer).toMatchObject({ count: 2, workers: 2 });
    // Both workers miss now.
    await get(url);
    await get(url);
    expect(origin.seen.length).toBe(before + 2);
    const bad = await request(`${node.adminUrl}/purge`, { method: 'POST', body: '{"path":"/item"}' });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: string }).error).toContain('give exactly one of "url", "prefix", "tag"');
  });
});

describe('static files at the edge', () => {
  test('served without the origin, from the same byte budget as the cache', async () => {
    const { mkdtempSync, writeFileSync: write } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'anyedge-static-'));
    write(join(root, 'app.0123abcd.js'), 'console.log("hi")\n');
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url], static: { root, prefix: '/assets/' } }] });
    const r = await get(`https://localhost:${edge.port}/assets/app.0123abcd.js`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.headers['cache-control']).toContain('immutable');
    expect(r.body).toBe('console.log("hi")\n');
    const etag = r.headers['etag'] as string;
    expect((await get(`https://localhost:${edge.port}/assets/app.0123abcd.js`, { 'if-none-match': etag })).status).toBe(304);
    // Raw bytes: HTTP clients normalise dot segments (even percent-encoded) before sending.
    const { connect } = await import('node:tls');
    const { pki } = await testPki();
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: edge!.port, servername: 'localhost', ca: readFileSync(pki.caFile), ALPNProtocols: ['http/1.1'] }, () => {
        sock.end('GET /assets/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      let data = '';
      sock.on('data', (d: Buffer) => { data += d; }).on('end', () => resolve(data)).on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    expect(raw).not.toContain('root:');
    expect(origin.seen).toHaveLength(0);
    // The file's bytes are counted in the worker's cache budget.
    const cache = edge.runtime.hosts[0]!.cache as unknown as { stats(): { objects: number; bytes: number } };
    expect(cache.stats().objects).toBe(1);
    expect(cache.stats().bytes).toBeGreaterThanOrEqual(18);
  });
});

describe('h2 limits a client sees', () => {
  test('the server advertises 100 concurrent streams', async () => {
    const { connect } = await import('node:http2');
    const { pki } = await testPki();
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }] });
    const session = connect(`https://localhost:${edge.port}`, { ca: readFileSync(pki.caFile) });
    const settings = await new Promise<import('node:http2').Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    session.close();
    expect(settings.maxConcurrentStreams).toBe(100);
  });
});
