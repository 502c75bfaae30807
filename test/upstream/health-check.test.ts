// Active origin health checks against real origins on 127.0.0.1 port 0. Probe rounds and the
// probe timeout are driven by hand through injected timers; nothing sleeps.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckSchema } from '../../src/config/schema.js';
import { supervisorMetrics } from '../../src/metrics.js';
import { OriginHealthChecker, type HealthCheckTimers, type OriginHealthChange } from '../../src/upstream/health-check.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';

class ManualTimers implements HealthCheckTimers {
  readonly intervals = new Map<number, { fn: () => void; ms: number }>();
  readonly timeouts = new Map<number, { fn: () => void; ms: number }>();
  #id = 0;
  setInterval(fn: () => void, ms: number): unknown { this.intervals.set(++this.#id, { fn, ms }); return this.#id; }
  clearInterval(h: unknown): void { this.intervals.delete(h as number); }
  setTimeout(fn: () => void, ms: number): unknown { this.timeouts.set(++this.#id, { fn, ms }); return this.#id; }
  clearTimeout(h: unknown): void { this.timeouts.delete(h as number); }
  /** Fires every pending probe timeout, as if healthCheck.timeout had elapsed. */
  expireTimeouts(): void {
    const due = [...this.timeouts.values()];
    this.timeouts.clear();
    for (const t of due) t.fn();
  }
}

type Mode = 'ok' | 'error' | 'redirect' | 'hang';

interface TestOrigin {
  url: string;
  server: Server;
  mode: Mode;
  requests: Array<{ path: string | undefined; ua: string | undefined }>;
}

const servers: Server[] = [];
const checkers: OriginHealthChecker[] = [];

function handler(o: TestOrigin) {
  return (req: IncomingMessage, res: ServerResponse) => {
    o.requests.push({ path: req.url, ua: req.headers['user-agent'] });
    switch (o.mode) {
      case 'ok': res.end('ok'); break;
      case 'error': res.statusCode = 500; res.end('broken'); break;
      case 'redirect': res.statusCode = 302; res.setHeader('location', '/elsewhere'); res.end(); break;
      case 'hang': break; // never answers
    }
  };
}

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startOrigin(mode: Mode = 'ok'): Promise<TestOrigin> {
  const o = { mode, requests: [] } as unknown as TestOrigin;
  o.server = createHttpServer(handler(o));
  o.url = await listen(o.server, 'http');
  return o;
}

async function closeServer(s: Server): Promise<void> {
  if (!s.listening) return;
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

function makeChecker(origins: string[], over: Record<string, unknown> = {}, extra: Partial<ConstructorParameters<typeof OriginHealthChecker>[2]> = {}) {
  const cfg = healthCheckSchema.parse({ path: '/healthz', interval: 2000, timeout: 1000, rise: 2, fall: 2, ...over });
  const timers = new ManualTimers();
  const changes: OriginHealthChange[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  const { registry, metrics } = supervisorMetrics();
  const checker = new OriginHealthChecker(origins, cfg, { timers, log, metrics, ...extra });
  checker.on('change', (c) => changes.push(c));
  checkers.push(checker);
  const up = async (url: string) => (await registry.getSingleMetric('anyedge_origin_up')?.get())?.values.find((v) => v.labels.origin === url)?.value;
  return { checker, timers, changes, lines, up };
}

afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map(closeServer));
});

describe('OriginHealthChecker', () => {
  it('starts down and comes up after `rise` successful probes', async () => {
    const o = await startOrigin('ok');
    const { checker, changes, up } = makeChecker([o.url], { rise: 2 });
    expect(checker.status()).toEqual([{ url: o.url, up: false, streak: 0 }]);
    expect(await up(o.url)).toBe(0);

    await checker.tick();
    expect(checker.status()[0]).toMatchObject({ up: false, streak: 1 });
    expect(changes).toEqual([]);
    expect(o.requests).toEqual([{ path: '/healthz', ua: 'anyedge-health-check' }]);

    await checker.tick();
    const s = checker.status()[0]!;
    expect(s).toMatchObject({ url: o.url, up: true, streak: 2 });
    expect(s.lastError).toBeUndefined();
    expect(s.lastLatencyMs).toBeGreaterThanOrEqual(0);
    expect(changes).toEqual([{ url: o.url, up: true, reason: '2 consecutive successful probes' }]);
    expect(await up(o.url)).toBe(1);
  });

  it('goes down after `fall` failed probes (500), not after fewer, and back up after `rise`', async () => {
    const o = await startOrigin('ok');
    const { checker, changes, lines, up } = makeChecker([o.url], { rise: 1, fall: 3 });
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(true);

    o.mode = 'error';
    await checker.tick();
    await checker.tick();
    expect(checker.status()[0]).toMatchObject({ up: true, streak: 2, lastError: 'HTTP 500' });
    // One success in between resets the count: no flap.
    o.mode = 'ok';
    await checker.tick();
    o.mode = 'error';
    await checker.tick();
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(true);
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(false);
    expect(changes.map((c) => c.up)).toEqual([true, false]);
    expect(changes[1]).toEqual({ url: o.url, up: false, reason: '3 consecutive failed probes, last: HTTP 500' });
    expect(await up(o.url)).toBe(0);
    const downLog = lines.find((l) => l.msg === `origin ${o.url} is down`);
    expect(downLog).toMatchObject({ level: 40, origin: o.url, error: 'HTTP 500', fall: 3 });

    o.mode = 'ok';
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(true);
  });

  it('counts a refused connection as a failure', async () => {
    const o = await startOrigin('ok');
    const { checker, changes } = makeChecker([o.url], { rise: 1, fall: 1 });
    await checker.tick();
    await closeServer(o.server);
    await checker.tick();
    expect(checker.status()[0]).toMatchObject({ up: false });
    expect(checker.status()[0]!.lastError).toMatch(/ECONNREFUSED/);
    expect(changes.at(-1)).toMatchObject({ up: false, reason: expect.stringMatching(/ECONNREFUSED/) as unknown });
  });

  it('counts an origin that hangs past healthCheck.timeout as a failure', async () => {
    const o = await startOrigin('ok');
    const { checker, timers, changes } = makeChecker([o.url], { rise: 1, fall: 1, timeout: 750 });
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(true);

    o.mode = 'hang';
    const requested = once(o.server, 'request');
    const round = checker.tick();
    await requested; // the probe is at the origin, waiting for an answer that never comes
    expect([...timers.timeouts.values()].map((t) => t.ms)).toEqual([750]);
    // A round while the probe is still out does not stack another probe.
    await checker.tick();
    expect(o.requests).toHaveLength(2);
    timers.expireTimeouts();
    await round;
    expect(checker.status()[0]).toMatchObject({ up: false, lastError: 'timeout after 750ms' });
    expect(changes.at(-1)).toEqual({ url: o.url, up: false, reason: '1 consecutive failed probes, last: timeout after 750ms' });
  });

  it('counts a 3xx as a success without following it', async () => {
    const o = await startOrigin('redirect');
    const { checker } = makeChecker([o.url], { rise: 1 });
    await checker.tick();
    expect(checker.isUp(o.url)).toBe(true);
    expect(o.requests.map((r) => r.path)).toEqual(['/healthz']);
  });

  it('keeps each origin\'s state separately', async () => {
    const a = await startOrigin('ok');
    const b = await startOrigin('error');
    const { checker } = makeChecker([a.url, b.url], { rise: 1 });
    await checker.tick();
    expect(checker.status().map((s) => [s.url, s.up])).toEqual([[a.url, true], [b.url, false]]);
  });

  it('probes at once on start() and then on every interval', async () => {
    const o = await startOrigin('ok');
    const { checker, timers, changes } = makeChecker([o.url], { rise: 1, fall: 1, interval: 5000 });
    const cameUp = once(checker, 'change');
    checker.start();
    expect([...timers.intervals.values()].map((t) => t.ms)).toEqual([5000]);
    await cameUp; // the first probe went out without any timer firing

    o.mode = 'error';
    const wentDown = once(checker, 'change');
    for (const t of timers.intervals.values()) t.fn();
    await wentDown;
    expect(changes.map((c) => c.up)).toEqual([true, false]);
    expect(o.requests).toHaveLength(2);
    await checker.stop();
    expect(timers.intervals.size).toBe(0);
  });

  it('does nothing with an empty path (checks off)', async () => {
    const o = await startOrigin('ok');
    const { checker, timers } = makeChecker([o.url], { path: '' });
    checker.start();
    await checker.tick();
    expect(timers.intervals.size).toBe(0);
    expect(o.requests).toEqual([]);
    expect(checker.status()).toEqual([]);
    expect(checker.isUp(o.url)).toBe(true);
  });

  describe('https origin with mTLS', () => {
    let pki: TestPki;
    beforeAll(async () => { pki = await createTestPki(); });

    async function startMtlsOrigin(): Promise<TestOrigin> {
      const leaf = await pki.leaf(['localhost', '127.0.0.1']);
      const o = { mode: 'ok', requests: [] } as unknown as TestOrigin;
      o.server = createHttpsServer({ cert: leaf.cert, key: leaf.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, handler(o));
      o.url = await listen(o.server, 'https');
      return o;
    }

    it('is up only when it presents the client certificate and trusts the CA', async () => {
      const o = await startMtlsOrigin();
      const client = await pki.leaf(['edge.test'], { usage: 'client' });

      const noCert = makeChecker([o.url], { rise: 1 }, { connect: { ca: readFileSync(pki.caFile), servername: 'localhost' } });
      await noCert.checker.tick();
      expect(noCert.checker.status()[0]).toMatchObject({ up: false });
      expect(noCert.checker.status()[0]!.lastError).toBeTruthy();
      expect(o.requests).toEqual([]);

      const untrusted = makeChecker([o.url], { rise: 1 }, { connect: { cert: client.cert, key: client.key, servername: 'localhost' } });
      await untrusted.checker.tick();
      expect(untrusted.checker.status()[0]!.lastError).toMatch(/certificate/i);

      const mtls = makeChecker([o.url], { rise: 1 }, { connect: { ca: pki.ca.cert, cert: client.cert, key: client.key, servername: 'localhost' } });
      await mtls.checker.tick();
      expect(mtls.checker.status()[0]).toMatchObject({ up: true });
      expect(o.requests).toHaveLength(1);
    });
  });
});
