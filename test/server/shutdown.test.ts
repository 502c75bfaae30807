// A stopping worker keeps to its deadline even when an origin exchange outlives its client:
// the cache goes on reading a body the client left (waiters may need it), and that read must
// not hold the worker past shutdown.deadline.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAgent, waitFor } from '../helpers/clients.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

let origin: TestOrigin;
let edge: TestEdge | undefined;
const timers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  await edge?.close();
  await origin.close();
});

describe('runtime.close(deadline)', () => {
  it('returns by its deadline while the cache still reads a body its client left, and cuts that origin exchange', async () => {
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }], overload: { enabled: false } });
    let originSaw: 'complete' | 'cut' | undefined;
    origin.streaming = true;
    origin.handler = (req, res) => {
      req.resume();
      // Cacheable, length unknown: the edge streams it to the client while keeping a copy.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' });
      res.write(Buffer.alloc(1024));
      // A chunk every 50 ms, for ever: never idle long enough for the body timeout.
      const t = setInterval(() => res.write(Buffer.alloc(1024)), 50);
      timers.add(t);
      res.on('close', () => { clearInterval(t); originSaw = res.writableFinished ? 'complete' : 'cut'; });
    };
    const agent = testAgent(edge.pki.caFile);
    try {
      const r = await request(`https://localhost:${edge.port}/endless`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      for await (const _ of r.body) break; // one chunk, then the client goes away
      const closing = edge.runtime.close(300).then(() => 'closed' as const);
      const outcome = await Promise.race([closing, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 10_000))]);
      expect(outcome).toBe('closed');
      edge = undefined;
      await waitFor(() => originSaw !== undefined, 'the origin to see its exchange end');
      expect(originSaw).toBe('cut');
    } finally {
      await agent.close();
    }
  });
});
