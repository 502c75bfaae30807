// Request smuggling inputs written as raw bytes over TLS. Each ambiguous framing is refused
// with a 4xx and the connection closed, and no request — least of all the one hidden behind
// the first — reaches the origin. Valid-but-unusual framings are accepted and re-framed for
// the origin, so the edge and the origin can never disagree on where a request ends.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { get, rawExchange, tlsSocket, waitFor } from '../helpers/clients.js';
import { startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import type { TestOrigin } from '../helpers/origin.js';
import type { Agent } from 'undici';

let origin: TestOrigin;
let edge: TestEdge;
let agent: Agent;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost'], origins: [url] }],
    origin: { healthCheck: { path: '' } },
  }));
  ({ origin, edge, agent } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n';

function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 \d{3}[^\r\n]*/g)].map((m) => m[0]);
}

/**
 * Whatever the edge was going to forward has reached the origin by the time a later request
 * on a fresh connection has, and the edge has nothing in flight: then origin.seen is final.
 */
async function settled(): Promise<string[]> {
  const r = await get(agent, `https://localhost:${edge.port}/sentinel`);
  expect(r.status).toBe(200);
  await waitFor(() => edge.runtime.pipeline.inflight === 0, 'no request in flight');
  return origin.seen.map((s) => s.url).filter((u) => u !== '/sentinel');
}

describe('ambiguous framing is refused and nothing reaches the origin', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['Content-Length then Transfer-Encoding',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, /Transfer-Encoding with Content-Length/],
    ['Transfer-Encoding then Content-Length',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: ${5 + SMUGGLED.length}\r\n\r\n0\r\n\r\n${SMUGGLED}`, /Content-Length with Transfer-Encoding/],
    ['duplicate Content-Length, different values',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, /duplicate Content-Length/],
    // RFC 9110 §8.6 would allow accepting equal duplicates; llhttp refuses them all.
    ['duplicate Content-Length, same values',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc${SMUGGLED}`, /duplicate Content-Length/],
    ['Content-Length as a list of equal values',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3, 3\r\n\r\nabc${SMUGGLED}`, /invalid Content-Length/],
    ['Content-Length with a sign', `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: +3\r\n\r\nabc${SMUGGLED}`, /invalid Content-Length/],
    ['Content-Length in hex', `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0x3\r\n\r\nabc${SMUGGLED}`, /invalid Content-Length/],
    ['duplicate Host', `GET /a HTTP/1.1\r\nHost: localhost\r\nHost: other.example\r\n\r\n${SMUGGLED}`, /more than one Host header/],
    ['Transfer-Encoding: xchunked', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, /invalid Transfer-Encoding/],
    ['Transfer-Encoding: chunked, identity (chunked not last)',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`, /invalid Transfer-Encoding/],
    ['two Transfer-Encoding fields (chunked, then identity)',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`, /invalid Transfer-Encoding/],
    ['a Transfer-Encoding line starting with a space (obs-fold onto Host)',
      `POST /a HTTP/1.1\r\nHost: localhost\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc${SMUGGLED}`, /invalid header field/],
    ['Transfer-Encoding value on an obs-fold line (tab)',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, /invalid header field/],
    ['Transfer-Encoding continued on an obs-fold line (space)',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, /invalid header field/],
    ['Transfer-Encoding hidden in an obs-fold of another field',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nX-Foo: bar\r\n\tTransfer-Encoding: chunked\r\n\r\n${SMUGGLED}`, /invalid header field/],
    ['space before the colon: "Transfer-Encoding : chunked"',
      `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc${SMUGGLED}`, /invalid header field/],
    ['space before the colon: "Content-Length : 3"', `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length : 3\r\n\r\nabc${SMUGGLED}`, /invalid header field/],
    ['bare LF line endings', `POST /a HTTP/1.1\nHost: localhost\nContent-Length: 3\n\nabc${SMUGGLED}`, /Bad Request/],
    ['chunk size overflow', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`, /invalid chunk size/],
    ['chunk lines ending in bare LF', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n${SMUGGLED}`, /malformed line ending/],
    ['Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1)', `POST /a HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, /Bad Request/],
  ];

  it.each(cases)('%s', async (_name, bytes, message) => {
    const logged = edge.logs.length;
    const r = await rawExchange(edge.port, edge.pki.caFile, bytes);
    expect(r.status).toBe(400);
    expect(statusLines(r.text)).toHaveLength(1);
    expect(r.text).toMatch(message);
    expect(r.closed).toBe(true);
    expect(await settled()).toEqual([]);
    expect(edge.logs.slice(logged).some((l) => l['path'] === '/smuggled')).toBe(false);
  });
});

describe('HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1: faulty framing)', () => {
  it('is refused by the edge itself, not only by the parser noticing bytes after it', async () => {
    const r = await rawExchange(edge.port, edge.pki.caFile, 'POST /a HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(r.status).toBe(400);
    expect(r.text).toContain('Transfer-Encoding in an HTTP/1.0 request');
    expect(await settled()).toEqual([]);
  });
});

describe('valid framing that looks odd is accepted, and re-framed for the origin', () => {
  const cases: Array<[string, string, string]> = [
    ['Transfer-Encoding value after extra spaces', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:   chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 'abc'],
    ['Transfer-Encoding value after a tab', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 'abc'],
    ['Transfer-Encoding in capitals', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 'abc'],
    ['Transfer-Encoding: identity, chunked (chunked last)', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 'abc'],
    ['chunk extensions', `POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n`, 'abc'],
  ];

  it.each(cases)('%s: one body for /a, and the request behind it is a separate, answered request', async (_name, bytes, body) => {
    const r = await rawExchange(edge.port, edge.pki.caFile, `${bytes}${SMUGGLED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    expect(statusLines(r.text).map((l) => l.slice(9, 12))).toEqual(['200', '200']);
    expect(await settled()).toEqual(['/a', '/smuggled']);
    const a = origin.seen.find((s) => s.url === '/a')!;
    expect(a.body.toString()).toBe(body);
    // The origin gets the edge's framing, not the client's words for it.
    expect(a.headers['transfer-encoding'] ?? 'chunked').toBe('chunked');
    expect(a.rawHeaders.filter((v, i) => i % 2 === 0 && /^(transfer-encoding|content-length)$/i.test(v))).toHaveLength(1);
  });

  it('a GET with a Content-Length body carries that body; what it contains is not a request', async () => {
    const r = await rawExchange(edge.port, edge.pki.caFile, `GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
    expect(statusLines(r.text)).toHaveLength(1);
    expect(await settled()).toEqual(['/a']);
    expect(origin.seen[0]!.body.toString()).toBe(SMUGGLED);
  });
});

describe('pipelined requests', () => {
  it('are answered in order when all are valid', async () => {
    const r = await rawExchange(edge.port, edge.pki.caFile, 'GET /one HTTP/1.1\r\nHost: localhost\r\n\r\nGET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(statusLines(r.text).map((l) => l.slice(9, 12))).toEqual(['200', '200']);
    expect(r.text.indexOf('"url":"/one"')).toBeLessThan(r.text.indexOf('"url":"/two"'));
    expect(await settled()).toEqual(['/one', '/two']);
  });

  it('behind a refused request (which closes the connection) never reach the origin', async () => {
    const logged = edge.logs.length;
    // Node's parser emits every request in the bytes it has read, whatever the first answer.
    const r2 = await rawExchange(edge.port, edge.pki.caFile, `GET /a HTTP/1.1\r\nHost: localhost\r\nHost: again.example\r\n\r\n${SMUGGLED}${SMUGGLED}`);
    expect(r2.status).toBe(400);
    expect(statusLines(r2.text)).toHaveLength(1);
    expect(await settled()).toEqual([]);
    expect(edge.logs.slice(logged).some((l) => l['path'] === '/smuggled')).toBe(false);
  });

  it('a parse error behind a response being sent cuts the connection instead of writing into that response', async () => {
    origin.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '20' });
      res.write('0123456789');
      setTimeout(() => res.end('abcdefghij'), 300);
    };
    const socket = await tlsSocket(edge.port, edge.pki.caFile);
    let text = '';
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', () => undefined);
    const closed = new Promise((r) => socket.once('close', r));
    socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor(() => text.includes('0123456789'), 'the first half of the body');
    socket.write('NOT HTTP\r\n\r\n');
    await closed;
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    // The client sees a short body (10 of 20 bytes) and a closed connection: an error, not a
    // 200 whose body ends with our 400's bytes.
    expect(text.endsWith('\r\n\r\n0123456789')).toBe(true);
  });
});
