// When the origin or the client fails, what each side sees: 502 naming a refused connection,
// 504 for an origin that never answers, a truncated (never clean) response when the origin
// dies mid-body, and no leaked connection on either side when the client walks away.
// Also the retry rule: one retry, on the next origin, only for idempotent bodiless requests.
import { createServer, type AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request, type Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { workerMetrics } from '../../src/metrics.js';
import { h2Request, h2Session, testAgent, tlsSocket, waitFor } from '../helpers/clients.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function origin(): Promise<TestOrigin> {
  const o = await startOrigin();
  cleanup.push(() => o.close());
  return o;
}

/** A loopback URL nothing listens on: bound, then closed, so a connect is refused. */
async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

async function edgeFor(origins: string[], extra: Partial<ConfigInput> = {}): Promise<{ edge: TestEdge; agent: Agent; url: string }> {
  const edge = await startEdge({
    hosts: [{ names: ['localhost'], origins }],
    cache: { enabled: false },
    overload: { enabled: false },
    ...extra,
    origin: { healthCheck: { path: '' }, ...extra.origin },
  });
  const agent = testAgent(edge.pki.caFile);
  cleanup.push(() => edge.close(), () => agent.close());
  return { edge, agent, url: `https://localhost:${edge.port}` };
}

function requestLogs(edge: TestEdge): Array<Record<string, unknown>> {
  return edge.logs.filter((l) => l['msg'] === 'request');
}

async function noOpenConnections(edge: TestEdge): Promise<void> {
  await waitFor(() => edge.runtime.edge.openConnections === 0, 'the edge to have no open client connection');
  await waitFor(() => edge.runtime.pipeline.inflight === 0, 'the edge to have no request in flight');
}

describe('origin failures', () => {
  it('answers 502 with a short body naming the refused connection', async () => {
    const dead = await refusedUrl();
    const { edge, agent, url } = await edgeFor([dead]);
    const r = await request(`${url}/down`, { dispatcher: agent });
    const body = await r.body.text();
    expect(r.statusCode).toBe(502);
    expect(body).toMatch(/^502 Bad Gateway: cannot connect to origin .*ECONNREFUSED/);
    expect(body.length).toBeLessThan(300);
    expect(body).toContain(String(r.headers['x-request-id']));
    expect(r.headers['cache-control']).toBe('no-store');
    const log = requestLogs(edge).at(-1)!;
    expect(log['status']).toBe(502);
    expect(log['err']).toMatchObject({ code: 'AE_UPSTREAM_CONNECT' });
  });

  it('answers 504 when the origin sends no headers within origin.headersTimeout', async () => {
    const o = await origin();
    o.handler = () => { /* never answers */ };
    const { edge, agent, url } = await edgeFor([o.url], { origin: { headersTimeout: '300ms', healthCheck: { path: '' } } });
    const started = Date.now();
    const r = await request(`${url}/hang`, { dispatcher: agent });
    const body = await r.body.text();
    expect(r.statusCode).toBe(504);
    expect(body).toMatch(/^504 Gateway Timeout: origin .* sent no response headers in time/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(o.seen).toHaveLength(1); // it reached the origin once: a timeout is not retried
    await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
    expect(requestLogs(edge).at(-1)!['err']).toMatchObject({ code: 'AE_UPSTREAM_TIMEOUT' });
  });

  describe('origin resetting mid-body', () => {
    function resettingHandler(framing: 'content-length' | 'chunked') {
      return (req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, framing === 'content-length' ? { 'content-length': '1000000' } : {});
        res.write(Buffer.alloc(16 * 1024, 'a'), () => setTimeout(() => req.socket.destroy(), 50));
      };
    }

    it.each(['content-length', 'chunked'] as const)('HTTP/1.1 client sees an aborted response, never a clean end (%s)', async (framing) => {
      const o = await origin();
      o.handler = resettingHandler(framing);
      const { edge, agent, url } = await edgeFor([o.url]);
      const r = await request(`${url}/reset`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      let received = 0;
      const outcome = await (async () => {
        for await (const c of r.body) received += (c as Buffer).length;
        return 'clean end';
      })().catch((e: Error) => e);
      expect(outcome).toBeInstanceOf(Error);
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThan(1_000_000);
      await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
      const log = requestLogs(edge).at(-1)!;
      expect(log['err']).toMatchObject({ code: 'AE_UPSTREAM_RESET' });
      await noOpenConnections(edge);
    });

    it('h2 client sees the stream reset, not a clean end', async () => {
      const o = await origin();
      o.handler = resettingHandler('chunked');
      const { edge } = await edgeFor([o.url]);
      const s = await h2Session(edge.port, edge.pki.caFile);
      cleanup.push(() => { s.destroy(); });
      const r = await h2Request(s, { ':method': 'GET', ':path': '/reset-h2', ':authority': 'localhost' });
      expect(r.status).toBe(200);
      expect(r.rstCode).toBeGreaterThan(0);
      expect(r.body.length).toBeGreaterThan(0);
      await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
      expect(requestLogs(edge).at(-1)!['err']).toMatchObject({ code: 'AE_UPSTREAM_RESET' });
    });
  });
});

describe('origin answering before the upload is done', () => {
  it('h2: the client gets the answer and its upload is stopped; the request is logged', async () => {
    const o = await origin();
    o.streaming = true;
    o.handler = (_req, res) => { res.writeHead(401, { 'content-length': '6' }); res.end('denied'); };
    const { edge } = await edgeFor([o.url]);
    const s = await h2Session(edge.port, edge.pki.caFile);
    cleanup.push(() => { s.destroy(); });
    const r = await h2Request(s, { ':method': 'POST', ':path': '/early', ':authority': 'localhost' }, Buffer.alloc(4 * 1024 * 1024));
    expect(r.status).toBe(401);
    expect(r.body).toBe('denied');
    await waitFor(() => requestLogs(edge).some((l) => l['path'] === '/early' && l['status'] === 401), 'the 401 log line');
    expect(edge.runtime.pipeline.inflight).toBe(0);
  });
});

describe('client aborts', () => {
  it('mid-request: the origin sees the upload end abruptly and nothing leaks', async () => {
    const o = await origin();
    o.streaming = true;
    let received = 0;
    let originSaw: 'complete' | 'aborted' | undefined;
    o.handler = (req, res) => {
      req.on('data', (c: Buffer) => { received += c.length; });
      req.on('close', () => { originSaw = req.complete ? 'complete' : 'aborted'; });
      req.on('error', () => undefined);
      res.on('error', () => undefined);
    };
    const { edge } = await edgeFor([o.url]);
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    socket.on('error', () => undefined);
    socket.write('POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n');
    socket.write(Buffer.alloc(64 * 1024, 'x'));
    await waitFor(() => received > 0, 'the origin to receive part of the body');
    socket.destroy();
    await waitFor(() => originSaw !== undefined, 'the origin to see the request end');
    expect(originSaw).toBe('aborted');
    await noOpenConnections(edge);
    await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
    expect(requestLogs(edge).at(-1)!['status']).toBe(499);
  });

  it('mid-response (HTTP/1.1): the origin sees its response cut and nothing leaks', async () => {
    const o = await origin();
    let originSaw: 'finished' | 'closed' | undefined;
    o.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(32 * 1024, 'y')); // then nothing: the client leaves first
      res.on('close', () => { originSaw = res.writableFinished ? 'finished' : 'closed'; });
      res.on('error', () => undefined);
    };
    const { edge } = await edgeFor([o.url]);
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    socket.on('error', () => undefined);
    let got = 0;
    socket.on('data', (c: Buffer) => { got += c.length; });
    socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => got > 1024, 'the first response bytes');
    socket.destroy();
    await waitFor(() => originSaw !== undefined, 'the origin to see its response end');
    expect(originSaw).toBe('closed');
    await noOpenConnections(edge);
    await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
    expect(requestLogs(edge).at(-1)!['status']).toBe(200);
  });

  it('mid-response (h2 stream cancelled): the origin sees its response cut and the session stays usable', async () => {
    const o = await origin();
    let originSaw: 'finished' | 'closed' | undefined;
    o.handler = (req, res) => {
      if (req.url === '/ok') { res.end('fine'); return; }
      res.writeHead(200);
      res.write(Buffer.alloc(32 * 1024, 'z'));
      res.on('close', () => { originSaw = res.writableFinished ? 'finished' : 'closed'; });
      res.on('error', () => undefined);
    };
    const { edge } = await edgeFor([o.url]);
    const s = await h2Session(edge.port, edge.pki.caFile);
    cleanup.push(() => { s.destroy(); });
    const stream = s.request({ ':method': 'GET', ':path': '/slow', ':authority': 'localhost' });
    stream.on('error', () => undefined);
    await new Promise<void>((r) => stream.once('data', () => r()));
    stream.close(0x8 /* CANCEL */);
    await waitFor(() => originSaw !== undefined, 'the origin to see its response end');
    expect(originSaw).toBe('closed');
    const again = await h2Request(s, { ':method': 'GET', ':path': '/ok', ':authority': 'localhost' });
    expect(again.status).toBe(200);
    expect(again.body).toBe('fine');
    await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
    s.close();
    await noOpenConnections(edge);
  });

  it('before the origin answers: the edge gives up the upstream request', async () => {
    const o = await origin();
    let originSaw: 'closed' | undefined;
    o.handler = (_req, res) => { res.on('close', () => { originSaw = 'closed'; }); };
    const { edge } = await edgeFor([o.url]);
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    socket.on('error', () => undefined);
    socket.write('GET /never HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => o.seen.length === 1, 'the request to reach the origin');
    socket.destroy();
    await waitFor(() => originSaw !== undefined, 'the origin to see the edge give up');
    await noOpenConnections(edge);
    await waitFor(() => requestLogs(edge).length > 0, 'the request log line');
    const log = requestLogs(edge).at(-1)!;
    expect(log['status']).toBe(499);
  });
});

/** anyedge_upstream_retries_total in this process (every in-process edge shares it). */
async function retries(): Promise<number> {
  return (await workerMetrics().upstreamRetries.get()).values[0]?.value ?? 0;
}

describe('retry', () => {
  it('retries a GET once on the next origin when the first refuses the connection', async () => {
    const o = await origin();
    const { edge, agent, url } = await edgeFor([await refusedUrl(), o.url]);
    const r = await request(`${url}/retry`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(o.seen.map((s) => s.url)).toEqual(['/retry']);
    expect(requestLogs(edge).at(-1)!['origin']).toBe(o.url);
  });

  it('does not retry a POST: 502, and the second origin never sees it', async () => {
    const o = await origin();
    const { agent, url } = await edgeFor([await refusedUrl(), o.url]);
    const r = await request(`${url}/once`, { method: 'POST', body: 'payload', dispatcher: agent });
    expect(r.statusCode).toBe(502);
    expect(await r.body.text()).toMatch(/ECONNREFUSED/);
    expect(o.seen).toHaveLength(0);
  });

  it('h2: a refused POST answers 502 and stops the client\'s upload', async () => {
    const { edge } = await edgeFor([await refusedUrl()]);
    const s = await h2Session(edge.port, edge.pki.caFile);
    cleanup.push(() => { s.destroy(); });
    // Larger than the stream's flow-control window: without RST_STREAM(NO_ERROR) after the
    // 502 the client would wait forever to send the rest.
    const r = await h2Request(s, { ':method': 'POST', ':path': '/upload', ':authority': 'localhost' }, Buffer.alloc(256 * 1024));
    expect(r.status).toBe(502);
    expect(r.rstCode ?? 0).toBe(0);
    await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
  });

  it('does not retry a GET that carries a body', async () => {
    const o = await origin();
    const { agent, url } = await edgeFor([await refusedUrl(), o.url]);
    const r = await request(`${url}/get-with-body`, { method: 'GET', body: 'x', dispatcher: agent });
    expect(r.statusCode).toBe(502);
    await r.body.text();
    expect(o.seen).toHaveLength(0);
  });

  it('retries only once: two refusing origins → 502', async () => {
    const { agent, url } = await edgeFor([await refusedUrl(), await refusedUrl()]);
    const before = await retries();
    const r = await request(`${url}/both-down`, { dispatcher: agent });
    expect(r.statusCode).toBe(502);
    await r.body.text();
    expect(await retries()).toBe(before + 1);
  });
});
