import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadyzProbe } from '../../src/bgp/probe.js';

const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('readiness probe over HTTP', () => {
  it('reads ready and overloaded answers', async () => {
    let state = 'ready';
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: true, state, reasons: [] }));
    });
    const probe = createReadyzProbe({ url, timeout: 1000 });
    expect(await probe()).toMatchObject({ signal: 'healthy', status: 200, state: 'ready' });
    state = 'overloaded';
    expect(await probe()).toMatchObject({ signal: 'overloaded', result: 'overloaded' });
  });

  it('a probe that gets no answer in time is a failure', async () => {
    const url = await serve(() => { /* never answers: a stalled event loop looks like this */ });
    const probe = createReadyzProbe({ url, timeout: 100 });
    const r = await probe();
    expect(r).toMatchObject({ signal: 'failure', result: 'error', error: 'TIMEOUT' });
    expect(r.ms).toBeGreaterThanOrEqual(90);
    expect(r.ms).toBeLessThan(1000);
  });

  it('a refused connection is a failure', async () => {
    const url = await serve((_req, res) => res.end());
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    const r = await createReadyzProbe({ url, timeout: 1000 })();
    expect(r).toMatchObject({ signal: 'failure', error: 'ECONNREFUSED' });
  });

  it('a non-JSON answer is a failure', async () => {
    const url = await serve((_req, res) => res.writeHead(200).end('OK'));
    expect(await createReadyzProbe({ url, timeout: 1000 })()).toMatchObject({ signal: 'failure', result: 'error', status: 200 });
  });

  it('sends the admin token as a bearer token', async () => {
    const url = await serve((req, res) => {
      const ok = req.headers.authorization === 'Bearer 0123456789abcdef';
      res.writeHead(ok ? 200 : 401).end(ok ? JSON.stringify({ ready: true, state: 'ready', reasons: [] }) : 'no');
    });
    expect((await createReadyzProbe({ url, timeout: 1000, token: '0123456789abcdef' })()).signal).toBe('healthy');
    expect((await createReadyzProbe({ url, timeout: 1000 })()).signal).toBe('failure');
  });
});
