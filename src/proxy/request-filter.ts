// Phase 1: refuse what must not go further. Each check answers with the status a client
// can act on; nothing refused here ever reaches an origin.
import type { IncomingMessage } from 'node:http';
import { AnyedgeError } from '../errors.js';
import type { RequestContext } from './context.js';

export interface RequestLimits {
  maxHeaderSize: number;
  maxBodySize: number;
}

/** Count of Host fields in an HTTP/1.1 request (duplicates are a smuggling vector: RFC 9112 §3.2). */
function hostFieldCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

function headerBytes(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + 2;
  return n;
}

/**
 * Validates the request line and Host, resolves absolute-form targets, and enforces the
 * size limits the HTTP parser does not (h2 header bytes, declared body size). Sets
 * ctx.host and ctx.target. Throws AnyedgeError with the status to answer.
 */
export function requestFilter(ctx: RequestContext, limits: RequestLimits): void {
  const req = ctx.req;
  if (ctx.method === 'CONNECT') {
    // A tunnel to anywhere is what an open proxy offers; an edge never does.
    throw new AnyedgeError('METHOD_NOT_ALLOWED', 'CONNECT is not supported: this is not a forward proxy', { headers: { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' } });
  }
  let host: string | undefined;
  if (ctx.proto === 'h1') {
    const count = hostFieldCount((req as IncomingMessage).rawHeaders);
    if (count !== 1 && req.httpVersion === '1.1') {
      throw new AnyedgeError('BAD_REQUEST', count === 0 ? 'missing Host header' : 'more than one Host header');
    }
    host = req.headers.host;
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (llhttp
    // accepts it and decodes chunks; an origin or a proxy in between might not).
    if (req.httpVersion === '1.0' && req.headers['transfer-encoding'] !== undefined) {
      throw new AnyedgeError('BAD_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request');
    }
  } else {
    if (headerBytes(req.rawHeaders) > limits.maxHeaderSize) {
      throw new AnyedgeError('HEADERS_TOO_LARGE', `request headers exceed ${limits.maxHeaderSize} bytes`);
    }
    host = (req.headers[':authority'] as string | undefined) ?? req.headers.host;
  }
  let target = req.url ?? '/';
  if (target.charCodeAt(0) !== 47 /* / */) {
    if (target === '*' && ctx.method === 'OPTIONS') {
      target = '*';
    } else {
      // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host. Whether that
      // host is served here is decided by the router like any other; a foreign one gets 421.
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new AnyedgeError('BAD_REQUEST', 'request target is neither a path nor an absolute URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AnyedgeError('BAD_REQUEST', `unsupported scheme in request target: ${url.protocol}`);
      host = url.host;
      target = `${url.pathname}${url.search}`;
    }
  }
  if (!host) throw new AnyedgeError('BAD_REQUEST', 'missing Host header');
  ctx.host = host;
  ctx.target = target;
  // Node's HTTP/1.1 server answers 417 itself; on h2 the stream handler answers only
  // 100-continue, so any other expectation is refused here (RFC 9110 §10.1.1).
  const expect = req.headers.expect;
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
    throw new AnyedgeError('EXPECTATION_FAILED', `unsupported expectation: ${expect}`);
  }
  const cl = req.headers['content-length'];
  if (cl !== undefined && Number(cl) > limits.maxBodySize) {
    throw new AnyedgeError('BODY_TOO_LARGE', `request body of ${cl} bytes exceeds the limit of ${limits.maxBodySize}`);
  }
}
