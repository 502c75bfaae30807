// A minimal undici forwarder: node:https in front, one undici Pool (keep-alive) to the
// origin, Pool.stream() writing the origin's body straight into the response. No cache: the
// floor a caching edge must beat on misses. Child entry; prints {"ready":{"h1":P}}.
import { createServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { HOP_BY_HOP, announce, childArgs, listen, stopOnSigterm, tlsMaterial } from './node-server-common.js';

const args = childArgs();
if (!args.origin) throw new Error('origin is required');
const pool = new Pool(args.origin, { connections: 128, keepAliveTimeout: 60_000, pipelining: 1 });

function forwardHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

const server = createServer({ ...tlsMaterial(args), ALPNProtocols: ['http/1.1'] }, (req, res) => {
  pool.stream(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers: forwardHeaders(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(statusCode, out);
      return res;
    },
  ).catch(() => {
    if (!res.headersSent) { res.writeHead(502, { 'content-length': 0 }); res.end(); } else res.destroy();
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

const port = await listen(server);
stopOnSigterm([server], () => pool.close());
announce({ h1: port });
