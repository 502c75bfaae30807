// The reference subject: Node answering from memory with the same bytes and headers as the
// origin, no proxying at all. HTTP/1.1 through node:https; h2 through the http2
// compatibility API (mode "compat", what most Node servers use) or the core stream API
// (mode "stream", the fastest Node can do). Child entry; prints {"ready":{"h1":P,"h2":P}}.
// With "fields": true (the bare-fields subject) every answer also carries the four fields
// anyedge adds to each cached answer, built per response as anyedge builds them.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CACHEABLE_HEADERS, bodyOf, sizeForTarget } from '../body.js';
import { announce, childArgs, listen, stopOnSigterm, tlsMaterial } from './node-server-common.js';

const args = childArgs();
const tls = tlsMaterial(args);
const bodies = new Map<number, Buffer>();
function body(size: number): Buffer {
  let b = bodies.get(size);
  if (!b) { b = bodyOf(size); bodies.set(size, b); }
  return b;
}

// What anyedge puts on every hit besides the origin's fields: Age (RFC 9111 §5.1), Via
// (RFC 9110 §7.6.3), Cache-Status (RFC 9211) and a request id (src/proxy/context.ts's shape).
const ID_PREFIX = randomBytes(6).toString('hex');
const BORN = Date.now();
let ids = 0;

function fieldsHandler(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const size = sizeForTarget(req.url ?? '/');
  if (size === undefined) return notFound(res);
  const age = Math.floor((Date.now() - BORN) / 1000);
  res.writeHead(200, {
    'content-length': size,
    ...CACHEABLE_HEADERS,
    age: String(age),
    via: '1.1 bare',
    'x-request-id': `${ID_PREFIX}-${(++ids).toString(36)}`,
    'cache-status': `bare; hit; ttl=${3600 - age}`,
  });
  res.end(body(size));
}

function notFound(res: ServerResponse | Http2ServerResponse): void {
  res.writeHead(404, { 'content-length': 0 });
  res.end();
}

function plainHandler(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const size = sizeForTarget(req.url ?? '/');
  if (size === undefined) return notFound(res);
  // A literal that starts with a field of its own, not { ...CACHEABLE_HEADERS, … }: on Node 20
  // the spread-first copy made this server ~20 % slower (30 vs 24 µs per 1 KiB response with
  // wrk; bench/results/optimisations). This subject is the runtime's ceiling, so it gets the
  // faster form.
  res.writeHead(200, { 'content-length': size, ...CACHEABLE_HEADERS });
  res.end(body(size));
}

const handler = args.fields ? fieldsHandler : plainHandler;
const h1 = createServer({ ...tls, ALPNProtocols: ['http/1.1'] }, handler);
h1.keepAliveTimeout = 120_000;
h1.headersTimeout = 130_000;
h1.requestTimeout = 0;

const h2 = args.mode === 'stream'
  ? createSecureServer({ ...tls, settings: { maxConcurrentStreams: 100 } })
  : createSecureServer({ ...tls, settings: { maxConcurrentStreams: 100 } }, handler);
if (args.mode === 'stream') {
  h2.on('stream', (stream, headers) => {
    const size = sizeForTarget(String(headers[':path'] ?? '/'));
    if (size === undefined) { stream.respond({ ':status': 404 }, { endStream: true }); return; }
    stream.respond({ ':status': 200, ...CACHEABLE_HEADERS, 'content-length': size });
    stream.end(body(size));
  });
}
h2.on('sessionError', () => undefined);

const [p1, p2] = await Promise.all([listen(h1), listen(h2)]);
stopOnSigterm([h1, h2]);
announce({ h1: p1, h2: p2 });
