// The one place an error becomes what the client sees (Pingora's fail_to_proxy): the status
// comes from statusFor(), chosen by the error's source; the body is one short line a person
// can act on, with the request id to quote. If the response has started there is nothing to
// send: the stream is reset so the client sees a truncated response, never a wrong one.
import { AnyedgeError, statusFor } from '../errors.js';
import type { RequestContext } from './context.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Content Too Large',
  416: 'Range Not Satisfiable', 417: 'Expectation Failed', 421: 'Misdirected Request', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** Public text for an error: ours are written for clients; anything else is not shown. */
function publicMessage(err: unknown): string {
  return err instanceof AnyedgeError ? err.message : 'internal error';
}

export function failToProxy(ctx: RequestContext, err: unknown): void {
  ctx.error = err;
  const res = ctx.res;
  const status = statusFor(err);
  if (err instanceof AnyedgeError && err.kind === 'CLIENT_ABORTED') {
    ctx.status = 499;
    if (!res.destroyed) res.destroy();
    return;
  }
  if (res.headersSent || res.destroyed) {
    ctx.status = res.headersSent ? res.statusCode : status;
    // Mid-body failure: reset so the client cannot take a truncated body for a whole one.
    if (!res.destroyed) res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  ctx.status = status;
  const body = `${status} ${reasonPhrase(status)}: ${publicMessage(err)} (request id ${ctx.id})\n`;
  ctx.length = Buffer.byteLength(body);
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': ctx.length,
    'cache-control': 'no-store',
    'x-request-id': ctx.id,
    ...(err instanceof AnyedgeError ? err.headers : undefined),
  };
  if (ctx.cache) headers['cache-status'] = ctx.cache;
  // A request whose body we refuse may still be arriving: close rather than read it all.
  if (ctx.proto === 'h1' && (status === 413 || status === 400 || status === 408 || status === 431)) headers['connection'] = 'close';
  (res as import('node:http').ServerResponse).writeHead(status, headers);
  if (ctx.method === 'HEAD') res.end();
  else res.end(body);
}
