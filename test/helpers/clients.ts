// Clients for edge tests: raw bytes over TLS (for what well-behaved clients never send),
// HTTP/1.1 through undici, h2 through node:http2, and bounded polling instead of sleeps.
import { readFileSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';

export interface RawResponse {
  /** Everything the edge sent before it closed (or until the timeout). */
  text: string;
  /** The first status code in text, 0 when none. */
  status: number;
  /** Whether the edge closed the connection (rather than the wait running out). */
  closed: boolean;
}

/** A TLS connection to the edge (HTTP/1.1 by ALPN) with the test CA. */
export function tlsSocket(port: number, caFile: string, opts: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(caFile), servername: 'localhost', ALPNProtocols: ['http/1.1'], ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes bytes (or several writes) and collects what comes back until the edge closes the
 * connection or waitMs passes; waitMs only bounds a hang, no test relies on it elapsing.
 */
export async function rawExchange(port: number, caFile: string, writes: string | Buffer | Array<string | Buffer>, waitMs = 5000): Promise<RawResponse> {
  const socket = await tlsSocket(port, caFile);
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    let closed = false;
    const timer = setTimeout(() => finish(), waitMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.once('end', () => { closed = true; finish(); });
    socket.once('close', () => { closed = true; finish(); });
    for (const w of Array.isArray(writes) ? writes : [writes]) socket.write(w);
  });
}

/** An undici Agent trusting the test CA (HTTP/1.1 unless allowH2). */
export function testAgent(caFile: string, opts: { allowH2?: boolean; servername?: string } = {}): Agent {
  return new Agent({
    connect: { ca: readFileSync(caFile), ...(opts.servername === undefined ? {} : { servername: opts.servername }) },
    allowH2: opts.allowH2 ?? false,
    // Each test sees its own connections; nothing lingers between tests.
    pipelining: 1,
  });
}

export async function get(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const r = await request(url, { dispatcher: agent, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

export function h2Session(port: number, caFile: string, servername = 'localhost'): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`https://127.0.0.1:${port}`, { ca: readFileSync(caFile), servername });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** RST_STREAM code when the stream was reset instead of answered; undefined otherwise. */
  rstCode?: number;
}

/** One h2 request; resolves with the response, or with rstCode when the stream is reset. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Response> {
  return new Promise((resolve) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let resHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => { resHeaders = h; status = Number(h[':status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      const out: H2Response = { status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8') };
      if (status === 0 || stream.rstCode !== 0) out.rstCode = stream.rstCode;
      resolve(out);
    });
    if (body !== undefined) stream.end(body);
  });
}

/** Polls cond every 20 ms until true; throws after timeoutMs with what was waited for. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
