// Large bodies stream through the edge in both directions, over HTTP/1.1 and h2: 64 MiB
// generated on one side, hashed on the other, and the far side starts receiving before the
// near side has finished producing — so the edge cannot have held the whole body.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { h2Session } from '../helpers/clients.js';
import { startProxiedEdge, type ProxiedEdge, type TestEdge } from '../helpers/edge.js';
import type { TestOrigin } from '../helpers/origin.js';

const MiB = 1024 * 1024;
const TOTAL = 64 * MiB;
const BLOCK = randomBytes(MiB);

/** A 64 MiB body made on demand (honours backpressure); counts and hashes what it made. */
class Generated extends Readable {
  produced = 0;
  readonly hash = createHash('sha256');
  #i = 0;
  override _read(): void {
    if (this.produced >= TOTAL) { this.push(null); return; }
    const chunk = Buffer.from(BLOCK);
    chunk.writeUInt32BE(this.#i++, 0); // no two chunks alike
    this.produced += chunk.length;
    this.hash.update(chunk);
    this.push(chunk);
  }
}

let origin: TestOrigin;
let edge: TestEdge;
let agent: Agent;
let proxied: ProxiedEdge | undefined;

beforeAll(async () => {
  proxied = await startProxiedEdge((url) => ({
    hosts: [{ names: ['localhost'], origins: [url] }],
    limits: { maxBodySize: '128mb' },
    // Big transfers load a 2-core machine; shedding is tested elsewhere.
    overload: { enabled: false },
  }));
  ({ origin, edge, agent } = proxied);
});

afterAll(async () => {
  await proxied?.close();
});

afterEach(() => origin.reset());

interface Received { bytes: number; sha: string; producedAtFirstByte: number }

/** Origin that hashes the upload and records how much the client had made when data first arrived. */
function hashingOrigin(source: () => Generated): Promise<Received> {
  return new Promise((resolve) => {
    origin.streaming = true;
    origin.handler = (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let producedAtFirstByte = -1;
      req.on('data', (c: Buffer) => {
        if (producedAtFirstByte < 0) producedAtFirstByte = source().produced;
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        const got = { bytes, sha: hash.digest('hex'), producedAtFirstByte };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(got));
        resolve(got);
      });
    };
  });
}

/** Origin that sends a generated body; `written` tells how far it got. */
function generatingOrigin(): { body: () => Generated | undefined } {
  let gen: Generated | undefined;
  origin.streaming = true;
  origin.handler = (_req, res) => {
    gen = new Generated();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
    void pipeline(gen, res).catch(() => undefined);
  };
  return { body: () => gen };
}

describe('upload', () => {
  it('streams a 64 MiB chunked upload over HTTP/1.1 to the origin intact', async () => {
    const body = new Generated();
    const received = hashingOrigin(() => body);
    const r = await request(`https://localhost:${edge.port}/upload`, { method: 'POST', body, dispatcher: agent });
    expect(r.statusCode).toBe(200);
    const echoed = await r.body.json() as Received;
    const got = await received;
    expect(got.bytes).toBe(TOTAL);
    expect(got.sha).toBe(body.hash.digest('hex'));
    expect(echoed.sha).toBe(got.sha);
    // The origin had data while most of the body did not exist yet.
    expect(got.producedAtFirstByte).toBeGreaterThan(0);
    expect(got.producedAtFirstByte).toBeLessThan(TOTAL / 2);
  });

  it('streams a 64 MiB upload with Content-Length over h2 to the origin intact', async () => {
    const body = new Generated();
    const received = hashingOrigin(() => body);
    const session = await h2Session(edge.port, edge.pki.caFile);
    try {
      const stream = session.request({ ':method': 'PUT', ':path': '/upload-h2', ':authority': 'localhost', 'content-length': String(TOTAL) });
      const response = new Promise<number>((r) => stream.once('response', (h) => r(Number(h[':status']))));
      const drained = (async () => { for await (const _ of stream) { /* read the reply */ } })();
      await pipeline(body, stream);
      expect(await response).toBe(200);
      await drained;
    } finally {
      session.close();
    }
    const got = await received;
    expect(got.bytes).toBe(TOTAL);
    expect(got.sha).toBe(body.hash.digest('hex'));
    expect(got.producedAtFirstByte).toBeLessThan(TOTAL / 2);
    expect(origin.seen[0]!.headers['content-length']).toBe(String(TOTAL));
  });
});

describe('download', () => {
  it('streams a 64 MiB response over HTTP/1.1 to the client intact', async () => {
    const o = generatingOrigin();
    const r = await request(`https://localhost:${edge.port}/download`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-length']).toBe(String(TOTAL));
    const hash = createHash('sha256');
    let bytes = 0;
    let writtenAtFirstByte = -1;
    for await (const c of r.body) {
      if (writtenAtFirstByte < 0) writtenAtFirstByte = o.body()!.produced;
      bytes += (c as Buffer).length;
      hash.update(c as Buffer);
    }
    expect(bytes).toBe(TOTAL);
    expect(hash.digest('hex')).toBe(o.body()!.hash.digest('hex'));
    expect(writtenAtFirstByte).toBeLessThan(TOTAL / 2);
  });

  it('streams a 64 MiB response over h2 to the client intact', async () => {
    const o = generatingOrigin();
    const session = await h2Session(edge.port, edge.pki.caFile);
    try {
      const stream = session.request({ ':method': 'GET', ':path': '/download-h2', ':authority': 'localhost' });
      const hash = createHash('sha256');
      let bytes = 0;
      let writtenAtFirstByte = -1;
      let status = 0;
      stream.once('response', (h) => { status = Number(h[':status']); });
      for await (const c of stream) {
        if (writtenAtFirstByte < 0) writtenAtFirstByte = o.body()!.produced;
        bytes += (c as Buffer).length;
        hash.update(c as Buffer);
      }
      expect(status).toBe(200);
      expect(bytes).toBe(TOTAL);
      expect(hash.digest('hex')).toBe(o.body()!.hash.digest('hex'));
      expect(writtenAtFirstByte).toBeLessThan(TOTAL / 2);
    } finally {
      session.close();
    }
  });

  it('stops pulling from the origin while the client does not read (backpressure, not buffering)', async () => {
    const o = generatingOrigin();
    const r = await request(`https://localhost:${edge.port}/slow-reader`, { dispatcher: agent, highWaterMark: 64 * 1024 });
    expect(r.statusCode).toBe(200);
    // The client reads nothing. The origin's production must stop well short of the body:
    // socket buffers on three hops hold some, the edge holds no more than a stream's worth.
    let last = -1;
    for (let i = 0; i < 200; i++) {
      await new Promise((res) => setTimeout(res, 50));
      const now = o.body()?.produced ?? 0;
      if (now > 0 && now === last) break;
      last = now;
    }
    const stalledAt = o.body()!.produced;
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(TOTAL / 2);
    r.body.destroy();
  });
});
