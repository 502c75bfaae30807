// A client that leaves while the origin is still thinking: when the origin finally
// answers, the edge drops the body quietly. (An unhandled abort error here once killed
// the process — in a cluster, the worker and every request in flight on it.)
import { afterEach, describe, expect, it } from 'vitest';
import { startEdge, type TestEdge } from '../helpers/edge.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { testAgent, tlsSocket, waitFor } from '../helpers/clients.js';
import { request } from 'undici';

let edge: TestEdge | undefined;
let origin: TestOrigin | undefined;
afterEach(async () => {
  await edge?.close();
  await origin?.close();
  edge = undefined;
  origin = undefined;
});

describe.each([true, false])('cache enabled: %s', (cacheEnabled) => {
  it('the origin answering after the client left does not hurt the node', async () => {
    origin = await startOrigin();
    let answered = 0;
    origin.handler = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5, 'cache-control': 'no-store' });
        res.end('late!');
        answered++;
      }, 300);
    };
    edge = await startEdge({ hosts: [{ names: ['localhost'], origins: [origin.url] }], cache: { enabled: cacheEnabled }, overload: { enabled: false } });
    for (let i = 0; i < 5; i++) {
      const s = await tlsSocket(edge.port, edge.pki.caFile);
      s.write(`GET /slow-${i} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await waitFor(() => origin!.seen.length > i, 'origin saw the request');
      s.destroy();
    }
    await waitFor(() => answered === 5, 'origin answered all');
    // Every late answer has arrived and been dropped; the node still serves.
    origin.handler = (_req, res) => { res.writeHead(200, { 'content-length': 2 }); res.end('ok'); };
    const agent = testAgent(edge.pki.caFile);
    const r = await request(`https://localhost:${edge.port}/after`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe('ok');
    await agent.close();
    await waitFor(() => edge!.logs.filter((l) => String(l['path']).startsWith('/slow-')).length === 5, 'five log lines');
    expect(edge.logs.filter((l) => String(l['path']).startsWith('/slow-')).every((l) => l['status'] === 499)).toBe(true);
  });
});
