// An origin's body read whole (what the cache does for a small object), through the real
// undici pool against a real origin on a loopback socket: the bytes arrive intact however
// they are cut, a body over the limit or cut by the origin is an error, and the connection
// the pool keeps stays usable afterwards.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from '../../src/cache/body.js';
import { originLinkSchema } from '../../src/config/schema.js';
import { Origin, OriginGroup, closeOrigins } from '../../src/upstream/origin-pool.js';

const BODY = Buffer.from(Array.from({ length: 60 * 1024 }, (_, i) => i % 251));

let server: Server | undefined;
let origin: Origin | undefined;

afterEach(async () => {
  if (origin) await closeOrigins([origin]);
  origin = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((r) => server!.close(() => r()));
  }
  server = undefined;
});

async function start(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<OriginGroup> {
  server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  origin = new Origin(`http://127.0.0.1:${port}`, originLinkSchema.parse({}));
  return new OriginGroup([origin]);
}

function get(group: OriginGroup, target: string) {
  return group.request({ method: 'GET', target, headers: { host: 'origin.test' }, body: null });
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an origin body read whole', () => {
  it('has every byte, whether it came with the headers or in pieces afterwards', async () => {
    const group = await start(async (req, res) => {
      if (req.url === '/at-once') {
        res.writeHead(200, { 'content-length': BODY.length });
        res.end(BODY);
        return;
      }
      res.writeHead(200, { 'content-length': BODY.length });
      for (let off = 0; off < BODY.length; off += 7_000) {
        res.write(BODY.subarray(off, off + 7_000));
        await tick(2);
      }
      res.end();
    });
    for (const target of ['/at-once', '/in-pieces', '/at-once']) {
      const r = await get(group, target);
      const body = await readBody(r.body, BODY.length);
      expect(body.equals(BODY), target).toBe(true);
      await tick(0);
      expect(r.body.destroyed || r.body.readableEnded, `${target}: the stream ended, not left open`).toBe(true);
    }
  });

  it('larger than the stream buffers and read only later, whole or as a stream, has every byte', async () => {
    const BIG = Buffer.concat(Array.from({ length: 16 }, () => BODY)); // ~1 MiB
    const group = await start((_req, res) => {
      res.writeHead(200, { 'content-length': BIG.length });
      res.end(BIG);
    });
    // Nobody reads for a while: the exchange must stop reading the origin, not drop bytes.
    const whole = await get(group, '/late-whole');
    await tick(50);
    expect((await readBody(whole.body, BIG.length)).equals(BIG)).toBe(true);
    const streamed = await get(group, '/late-stream');
    await tick(50);
    const chunks: Buffer[] = [];
    for await (const c of streamed.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(BIG)).toBe(true);
    // And the connection is still good for the next one.
    const again = await get(group, '/again');
    expect((await readBody(again.body, BIG.length)).length).toBe(BIG.length);
  });

  it('read whole by a request that can be cancelled: every byte, the stream ends, a late cancel changes nothing', async () => {
    const group = await start((_req, res) => {
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    });
    const ac = new AbortController();
    const r = await group.request({ method: 'GET', target: '/cancellable', headers: { host: 'origin.test' }, body: null, signal: ac.signal });
    expect((await readBody(r.body, BODY.length)).equals(BODY)).toBe(true);
    await tick(0);
    expect(r.body.readableEnded || r.body.destroyed).toBe(true);
    ac.abort();
    const next = await get(group, '/next');
    expect((await readBody(next.body, BODY.length)).equals(BODY)).toBe(true);
  });

  it('over its limit is the origin\'s protocol error, and the next request still gets an answer', async () => {
    const group = await start((req, res) => {
      if (req.url === '/small') { res.end('ok'); return; }
      // No Content-Length: the reader's limit is what stops it.
      res.writeHead(200);
      res.write(BODY.subarray(0, 10_000));
      setTimeout(() => res.end(BODY.subarray(10_000, 20_000)), 5);
    });
    const r = await get(group, '/big');
    await expect(readBody(r.body, 15_000)).rejects.toMatchObject({ code: 'AE_UPSTREAM_PROTOCOL' });
    const ok = await get(group, '/small');
    expect((await readBody(ok.body, 100)).toString()).toBe('ok');
  });

  it('cut by the origin mid-body is a reset, not a short object', async () => {
    const group = await start((req, res) => {
      if (req.url === '/small') { res.end('ok'); return; }
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 10_000));
      setTimeout(() => res.socket?.destroy(), 5);
    });
    const r = await get(group, '/cut');
    await expect(readBody(r.body, BODY.length)).rejects.toMatchObject({ code: 'AE_UPSTREAM_RESET' });
    const ok = await get(group, '/small');
    expect((await readBody(ok.body, 100)).toString()).toBe('ok');
  });
});
