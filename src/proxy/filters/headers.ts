// Header rewriting at the two hops: client → origin (request) and origin → client (response).
// RFC 9110 §7.6.1: hop-by-hop fields, and every field named in Connection, end at a proxy.
import { util } from 'undici';

const headerNameToString = util.headerNameToString;

/** Fields that describe one connection, never the message (RFC 9110 §7.6.1, RFC 9113 §8.2.2). */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'http2-settings',
]);

/** Forwarding fields a client on the internet must not be able to set for the origin to trust. */
const CLIENT_FORWARDING = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip']);

type InHeaders = Record<string, string | string[] | undefined>;
type OutHeaders = Record<string, string | string[]>;

/** Names listed in Connection (comma separated tokens, lower-cased). */
export function connectionTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  // The usual values name nothing beyond the hop-by-hop fields themselves.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Upgrade' || value === 'upgrade') return [value.toLowerCase()];
  const joined = Array.isArray(value) ? value.join(',') : value;
  const out: string[] = [];
  for (const t of joined.split(',')) {
    const n = t.trim().toLowerCase();
    if (n) out.push(n);
  }
  return out;
}

export interface ForwardInfo {
  clientIp: string;
  proto: 'https' | 'http';
  host: string;
  /** "1.1" or "2": the protocol the client used, for Via. */
  httpVersion: string;
  name: string;
  requestId: string;
  trustForwarded: boolean;
  /** Host header to send; the client's host when preserving it. */
  upstreamHost: string;
}

/** RFC 7239 §6: IPv6 "for" values are quoted and bracketed. */
function forwardedFor(ip: string): string {
  const v4mapped = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return v4mapped.includes(':') ? `"[${v4mapped}]"` : v4mapped;
}

function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The request headers sent to the origin: hop-by-hop and Connection-named fields, Expect and
 * h2 pseudo-headers removed; Forwarded / X-Forwarded-* set (replacing the client's unless
 * trusted); Via appended; the request id set.
 */
export function upstreamRequestHeaders(inHeaders: InHeaders, info: ForwardInfo): OutHeaders {
  const drop = connectionTokens(inHeaders['connection']);
  const out: OutHeaders = {};
  for (const name in inHeaders) {
    const value = inHeaders[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(name)) continue;
    if (!info.trustForwarded && CLIENT_FORWARDING.has(name)) continue;
    // Host is set below. Expect: the client's 100-continue was answered at this hop (Node's
    // server, or the h2 stream handler), and undici refuses a request that carries it.
    if (name === 'host' || name === 'expect') continue;
    out[name] = value;
  }
  for (const n of drop) if (out[n] !== undefined) delete out[n];
  // TE: trailers is the one TE value a proxy may pass on (RFC 9110 §10.1.4); undici does not need it.
  out['host'] = info.upstreamHost;
  const ip = plainIp(info.clientIp);
  const prevXff = info.trustForwarded ? inHeaders['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = prevXff ? `${Array.isArray(prevXff) ? prevXff.join(', ') : prevXff}, ${ip}` : ip;
  out['x-forwarded-proto'] = info.proto;
  out['x-forwarded-host'] = info.host;
  const fwd = `for=${forwardedFor(info.clientIp)};proto=${info.proto};host="${info.host.replace(/["\\]/g, '')}"`;
  const prevFwd = info.trustForwarded ? inHeaders['forwarded'] : undefined;
  out['forwarded'] = prevFwd ? `${Array.isArray(prevFwd) ? prevFwd.join(', ') : prevFwd}, ${fwd}` : fwd;
  const via = `${info.httpVersion} ${info.name}`;
  const prevVia = inHeaders['via'];
  out['via'] = prevVia ? `${Array.isArray(prevVia) ? prevVia.join(', ') : prevVia}, ${via}` : via;
  out['x-request-id'] = info.requestId;
  return out;
}

/**
 * Response headers from the origin, made safe to send to the client on h1 or h2, straight
 * from undici's raw header lines in one pass: names lower-cased (undici's table of common names), a repeated field an array, hop-by-hop and
 * Connection-named fields dropped, Via appended. The origin's fields are read once and
 * copied once, rather than parsed into one map and then filtered into another.
 */
export function responseHeadersFromRaw(raw: readonly Buffer[], name: string): OutHeaders {
  const out: OutHeaders = {};
  let connection: string | undefined;
  let prevVia: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = headerNameToString(raw[i]!);
    const v = raw[i + 1]!.toString('latin1');
    if (HOP_BY_HOP.has(n)) {
      if (n === 'connection') connection = connection === undefined ? v : `${connection}, ${v}`;
      continue;
    }
    if (n === 'via') {
      prevVia = prevVia === undefined ? v : `${prevVia}, ${v}`;
      continue;
    }
    const prev = out[n];
    if (prev === undefined || !Object.hasOwn(out, n)) {
      if (n === '__proto__') Object.defineProperty(out, n, { value: v, enumerable: true, configurable: true, writable: true });
      else out[n] = v;
    } else if (typeof prev === 'string') {
      out[n] = [prev, v];
    } else {
      prev.push(v);
    }
  }
  if (connection !== undefined) for (const t of connectionTokens(connection)) if (Object.hasOwn(out, t)) delete out[t];
  const via = `1.1 ${name}`;
  out['via'] = prevVia === undefined ? via : `${prevVia}, ${via}`;
  return out;
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** A client-supplied id is kept if it is short and plain; otherwise a new one is made. */
export function requestIdFrom(value: string | string[] | undefined, make: () => string): string {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : make();
}
