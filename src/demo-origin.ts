// The demo origin that `npm start` runs on loopback, so a new user sees the edge do its job
// (forwarding, caching, streaming, errors) without an origin of their own.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGE = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>anyedge demo origin</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .3em}</style>
<h1>anyedge is forwarding to the demo origin</h1>
<p>This page came from the demo origin on loopback, through the edge. Try:</p>
<ul>
<li><a href="/cacheable">/cacheable</a> — <code>Cache-Control: public, max-age=60</code>; reload and watch <code>Cache-Status</code> and <code>Age</code></li>
<li><a href="/time">/time</a> — <code>no-store</code>, always forwarded</li>
<li><a href="/echo">/echo</a> — the request headers the origin received (Via, Forwarded, X-Forwarded-For, X-Request-Id)</li>
<li><a href="/slow?ms=2000">/slow?ms=2000</a> — a slow origin</li>
<li><a href="/bytes?n=1048576">/bytes?n=1048576</a> — a streamed body of n bytes</li>
<li><a href="/status/503">/status/503</a> — any status</li>
</ul>
<p>Admin plane: <code>curl http://127.0.0.1:9901/readyz</code> and <code>/metrics</code>.</p>
</html>
`;

export interface DemoOrigin {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startDemoOrigin(port = 0, host = '127.0.0.1'): Promise<DemoOrigin> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const p = url.pathname;
    if (p === '/' || p === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=10' });
      res.end(PAGE);
    } else if (p === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else if (p === '/cacheable') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'public, max-age=60', 'last-modified': new Date(Date.now() - 60_000).toUTCString() });
      res.end(`generated at ${new Date().toISOString()}\n`);
    } else if (p === '/time') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify({ now: new Date().toISOString() })}\n`);
    } else if (p === '/echo') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify({ method: req.method, url: req.url, headers: req.headers }, null, 2)}\n`);
    } else if (p === '/slow') {
      const ms = Math.min(30_000, Math.max(0, Number(url.searchParams.get('ms') ?? 1000) || 0));
      setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`slept ${ms}ms\n`); }, ms);
    } else if (p === '/bytes') {
      let left = Math.min(1 << 30, Math.max(0, Number(url.searchParams.get('n') ?? 1024) || 0));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left, 'cache-control': 'public, max-age=60' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const write = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', write); return; }
        }
        res.end();
      };
      write();
    } else if (p.startsWith('/status/')) {
      const status = Number(p.slice(8));
      const code = Number.isInteger(status) && status >= 200 && status <= 599 ? status : 400;
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(`status ${code}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found on the demo origin\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${a.port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
