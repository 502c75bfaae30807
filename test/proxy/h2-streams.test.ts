// h2 requests are served on Node's core stream API (src/proxy/h2-stream.ts), not through
// the compatibility layer. What a client can see of that: 100-continue and refused
// expectations, HEAD and bodiless answers, the frames an answer is made of (with nghttp,
// a real h2 client that prints them), the client address, and a client that goes away.
import { execFile } from 'node:child_process';
import { constants } from 'node:http2';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { h2Request, h2Session, waitFor } from '../helpers/clients.js';
import { startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import { echoHandler, type TestOrigin } from '../helpers/origin.js';

const run = promisify(execFile);

let origin: TestOrigin;
let edge: TestEdge;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost'], origins: [url] }],
    cache: { enabled: true },
  }));
  ({ origin, edge } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

/** The origin answers `body` with a cache lifetime, so the second request is a hit. */
function cacheable(body: string): void {
  origin.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': 'max-age=60', etag: '"v1"' });
    res.end(body);
  };
}

describe('h2 on the core stream API', () => {
  it('answers expect: 100-continue with 100 before the body, then forwards the body', async () => {
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const stream = s.request({ ':method': 'POST', ':path': '/upload', ':authority': 'localhost', expect: '100-continue', 'content-length': '5' }, { endStream: false });
      const order: string[] = [];
      const chunks: Buffer[] = [];
      let status = 0;
      stream.on('continue', () => {
        order.push('continue');
        stream.end('hello');
      });
      stream.on('response', (h) => { order.push('response'); status = Number(h[':status']); });
      stream.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((r) => stream.on('close', r));
      expect(order).toEqual(['continue', 'response']);
      expect(status).toBe(200);
      expect(JSON.parse(Buffer.concat(chunks).toString()).bodyLength).toBe(5);
      expect(origin.seen).toHaveLength(1);
      expect(origin.seen[0]!.headers['expect']).toBeUndefined();
    } finally {
      s.close();
    }
  });

  it('refuses any other expectation with 417, naming it, without reaching the origin', async () => {
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const r = await h2Request(s, { ':method': 'POST', ':path': '/x', ':authority': 'localhost', expect: 'bananas' }, 'body');
      expect(r.status).toBe(417);
      expect(r.body).toMatch(/417 Expectation Failed: unsupported expectation: bananas \(request id /);
      expect(origin.seen).toHaveLength(0);
      await waitFor(() => edge.logs.some((l) => l['msg'] === 'request' && l['path'] === '/x' && l['status'] === 417), 'the 417 log line');
    } finally {
      s.close();
    }
  });

  it('answers HEAD with the fields of a GET and no body, from the cache too', async () => {
    cacheable('0123456789');
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      // A HEAD miss is forwarded as HEAD and stores nothing; a GET stores the answer.
      const miss = await h2Request(s, { ':method': 'HEAD', ':path': '/head', ':authority': 'localhost' });
      expect((await h2Request(s, { ':method': 'GET', ':path': '/head', ':authority': 'localhost' })).body).toBe('0123456789');
      const hit = await h2Request(s, { ':method': 'HEAD', ':path': '/head', ':authority': 'localhost' });
      for (const r of [miss, hit]) {
        expect(r.status).toBe(200);
        expect(r.headers['content-length']).toBe('10');
        expect(r.body).toBe('');
        expect(r.rstCode).toBeUndefined();
      }
      expect(hit.headers['cache-status']).toMatch(/hit/);
    } finally {
      s.close();
    }
  });

  it('gives the origin the client address from the connection', async () => {
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const r = await h2Request(s, { ':method': 'GET', ':path': '/who', ':authority': 'localhost' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(JSON.parse(r.body).headers['x-forwarded-proto']).toBe('https');
    } finally {
      s.close();
    }
  });

  it('logs a client that cancels its stream mid-body as aborted, and stays up', async () => {
    origin.streaming = true;
    origin.handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024));
      // ...and never ends: the client leaves first.
    };
    const s = await h2Session(edge.port, edge.pki.caFile);
    try {
      const stream = s.request({ ':method': 'GET', ':path': '/slow', ':authority': 'localhost' });
      await new Promise((r) => stream.once('data', r));
      stream.close(constants.NGHTTP2_CANCEL); // what a browser sends when the user navigates away
      await waitFor(() => edge.logs.some((l) => l['msg'] === 'request' && l['path'] === '/slow'), 'the log line of the cancelled stream');
      const line = edge.logs.find((l) => l['msg'] === 'request' && l['path'] === '/slow')!;
      expect(line['status']).toBe(200);
      expect(line['aborted']).toBe(true);
      origin.handler = echoHandler;
      origin.streaming = false;
      const r = await h2Request(s, { ':method': 'GET', ':path': '/after', ':authority': 'localhost' });
      expect(r.status).toBe(200);
    } finally {
      s.close();
    }
  });
});

/** nghttp -v's lines for the HEADERS and DATA frames it received (one request: one stream). */
async function framesOf(path: string, extra: string[] = []): Promise<string[]> {
  const { stdout } = await run('nghttp', ['-nv', ...extra, `https://localhost:${edge.port}${path}`], { timeout: 10_000 });
  return stdout.split('\n')
    .filter((l) => /recv (HEADERS|DATA) frame/.test(l))
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trim());
}

const nghttpMissing = await run('nghttp', ['--version']).then(() => false, () => true);

describe.skipIf(nghttpMissing)('h2 frames of an answer (nghttp; apt-get install nghttp2-client)', () => {
  it('sends a cached 1 KiB answer as HEADERS then one DATA frame that ends the stream', async () => {
    cacheable('x'.repeat(1024));
    await framesOf('/frames'); // the miss that stores it
    const frames = await framesOf('/frames');
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^recv HEADERS frame <length=\d+, flags=0x04, stream_id=(\d+)>/);
    expect(frames[1]).toMatch(/^recv DATA frame <length=1024, flags=0x01, stream_id=(\d+)>/);
    expect(frames[1]!.match(/stream_id=(\d+)/)![1]).toBe(frames[0]!.match(/stream_id=(\d+)/)![1]);
  });

  it('sends a bodiless answer (HEAD, 304) as one HEADERS frame that ends the stream', async () => {
    cacheable('y'.repeat(100));
    await framesOf('/bodiless');
    for (const extra of [['-H', ':method: HEAD'], ['-H', 'if-none-match: "v1"']]) {
      const frames = await framesOf('/bodiless', extra);
      expect(frames, extra.join(' ')).toHaveLength(1);
      expect(frames[0]).toMatch(/^recv HEADERS frame <length=\d+, flags=0x05, stream_id=\d+>/);
    }
  });
});
