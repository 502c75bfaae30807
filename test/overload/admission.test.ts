// Connection admission, observed by clients on real TLS and plain sockets: a worker over its
// connection limit tells the newest busy connections to go, holds new ones before TLS,
// refuses them after the queue timeout, and admits a waiting one when a place frees up. The
// control step is called by hand here (update(now)), as the overload tick would; the edge's
// config makes any load "saturated" and leaves room for one busy connection (targetDelay 0,
// minConnections 1), so the second busy connection is over the limit.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ClientHttp2Session } from 'node:http2';
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionAdmission, loopWaitSince } from '../../src/overload/admission.js';
import { admissionSchema } from '../../src/config/schema.js';
import { h2Session, h2Request, waitFor } from '../helpers/clients.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';

/** One keep-alive HTTP/1.1 connection; request() resolves with each whole response. */
class Conn {
  #buf = '';
  #waiting: Array<(r: { status: number; headers: string }) => void> = [];
  closed = false;
  secure = false;
  constructor(readonly socket: Socket | TLSSocket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { this.#buf += d; this.#parse(); });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.closed = true; });
  }

  request(path = '/'): Promise<{ status: number; headers: string }> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    });
  }

  #parse(): void {
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#buf.slice(0, end);
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.#buf.length < end + 4 + len) return;
      this.#buf = this.#buf.slice(end + 4 + len);
      this.#waiting.shift()?.({ status: Number(head.slice(9, 12)), headers: head.toLowerCase() });
    }
  }
}

function tlsConn(edge: TestEdge): Conn {
  const s = tlsConnect({ host: '127.0.0.1', port: edge.port, ca: readFileSync(edge.pki.caFile), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  const c = new Conn(s);
  s.once('secureConnect', () => { c.secure = true; });
  return c;
}

/** A TLS connection that has had one request answered 200 (busy in the current step). */
async function busyConn(edge: TestEdge): Promise<Conn> {
  const c = tlsConn(edge);
  expect((await c.request()).status).toBe(200);
  return c;
}

const open: Array<{ close(): unknown }> = [];
let origin: TestOrigin | undefined;

async function setup(admission: Record<string, unknown>, listeners?: Array<{ address: string; port: number; tls: boolean }>): Promise<{ edge: TestEdge; a: ConnectionAdmission }> {
  origin = await startOrigin();
  const edge = await startEdge({
    hosts: [{ names: ['localhost'], origins: [origin.url] }],
    cache: { enabled: false },
    // The tick never comes in a test: update() is called by hand.
    overload: { interval: '1h', admission: { minConnections: 1, targetDelay: 0, saturation: 1e-9, queueTimeout: '300ms', ...admission } },
    ...(listeners ? { listeners } : {}),
  });
  open.push(edge);
  const a = edge.runtime.admission;
  if (!a) throw new Error('admission is not enabled');
  // The first step only starts the interval the next one measures.
  a.update(performance.now());
  return { edge, a };
}

async function refusedMetric(reason: string): Promise<number> {
  const m = await register.getSingleMetric('anyedge_connections_refused_total')?.get();
  return m?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
  await origin?.close();
  origin = undefined;
});

describe('connection admission on the edge', () => {
  it('tells the newest connections above the limit to go, and holds then refuses new ones before TLS', async () => {
    const { edge, a } = await setup({});
    const older = await busyConn(edge);
    const newer = await busyConn(edge);
    expect(edge.runtime.edge.admittedConnections).toBe(2);

    // Two busy connections, room for one: the newest must go.
    a.update(performance.now());
    expect(a.limit).toBe(1);
    const r1 = await newer.request();
    expect(r1.status).toBe(200);
    expect(r1.headers).toContain('connection: close');
    await waitFor(() => newer.closed, 'the shed connection to close');
    const r2 = await older.request();
    expect(r2.headers).not.toContain('connection: close');

    // A new connection waits without a handshake, then is closed at the queue timeout.
    const waiting = tlsConn(edge);
    await new Promise((r) => setTimeout(r, 150));
    expect(waiting.secure).toBe(false);
    expect(a.stats().queued).toBe(1);
    await waitFor(() => waiting.closed, 'the waiting connection to be refused', 3000);
    expect(waiting.secure).toBe(false);
    expect(a.stats()).toMatchObject({ queued: 0, refused: 1 });
    // The old connection was never disturbed.
    expect((await older.request()).status).toBe(200);
  });

  it('tells another connection to go once an earlier one told to go has closed (TLS)', async () => {
    const { edge, a } = await setup({});
    const first = await busyConn(edge);
    const second = await busyConn(edge);
    a.update(performance.now());
    expect(a.limit).toBe(1);
    expect((await second.request()).headers).toContain('connection: close');
    await waitFor(() => second.closed, 'the first shed connection to close');
    first.socket.destroy();
    await waitFor(() => edge.runtime.edge.admittedConnections === 0, 'both connections to be gone');
    // Nothing busy in this step: room for one new connection again, and only one: the one
    // let in holds the place until a step counts it.
    a.update(performance.now());
    const third = await busyConn(edge);
    const held = tlsConn(edge);
    await waitFor(() => a.stats().queued === 1, 'a second new connection to wait for a place');
    expect(held.secure).toBe(false);
    held.socket.destroy();
    // Counted busy, then idle for a step (an idle connection holds no place): room for one more.
    a.update(performance.now());
    a.update(performance.now());
    const fourth = await busyConn(edge);
    expect((await third.request()).status).toBe(200);
    // Two busy again, room for one: the newest must go, as the first time.
    a.update(performance.now());
    expect(a.excess()).toBe(1);
    expect((await fourth.request()).headers).toContain('connection: close');
    await waitFor(() => fourth.closed, 'the second shed connection to close');
    expect((await third.request()).headers).not.toContain('connection: close');
    third.socket.destroy();
  });

  it('admits a waiting connection when a place frees up', async () => {
    const { edge, a } = await setup({ queueTimeout: '5s' });
    const first = tlsConn(edge);
    expect((await first.request()).status).toBe(200);
    const second = tlsConn(edge);
    expect((await second.request()).status).toBe(200);
    a.update(performance.now());
    expect(a.limit).toBe(1);

    const third = tlsConn(edge);
    const answered = third.request();
    await waitFor(() => a.stats().queued === 1, 'the third connection to wait');
    expect(third.secure).toBe(false);
    second.socket.destroy();
    // The next step sees no busy connection (the first sent nothing since): the waiting one
    // gets the place.
    a.update(performance.now());
    expect((await answered).status).toBe(200);
    expect(third.secure).toBe(true);
    expect(a.stats().dequeued).toBe(1);
    open.push({ close: () => { first.socket.destroy(); third.socket.destroy(); } });
  });

  it('runs at most maxHandshakes TLS handshakes at once; the rest wait their turn and are served', async () => {
    const { edge, a } = await setup({ maxHandshakes: 2, queueTimeout: '10s' });
    let peak = 0;
    const sample = setInterval(() => { peak = Math.max(peak, edge.runtime.edge.handshakingConnections); }, 1);
    const conns = Array.from({ length: 12 }, () => tlsConn(edge));
    const answers = await Promise.all(conns.map((c) => c.request()));
    clearInterval(sample);
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    expect(a.stats().dequeued).toBeGreaterThan(0);
    expect(a.limiting).toBe(false);
    // Every handshake was counted out again.
    expect(edge.runtime.edge.handshakingConnections).toBe(0);
    expect(edge.runtime.edge.admittedConnections).toBe(12);
    for (const c of conns) c.socket.destroy();
    await waitFor(() => edge.runtime.edge.admittedConnections === 0, 'every connection closed');
  });

  it('a plain HTTP listener serves a connection that waited (its socket is resumed)', async () => {
    const { edge, a } = await setup({ queueTimeout: '5s' }, [{ address: '127.0.0.1', port: 0, tls: false }]);
    const first = new Conn(netConnect(edge.port, '127.0.0.1'));
    expect((await first.request()).status).toBe(200);
    const second = new Conn(netConnect(edge.port, '127.0.0.1'));
    expect((await second.request()).status).toBe(200);
    a.update(performance.now());
    expect(a.limit).toBe(1);
    const third = new Conn(netConnect(edge.port, '127.0.0.1'));
    const answered = third.request();
    await waitFor(() => a.stats().queued === 1, 'the third connection to wait');
    a.update(performance.now());
    expect((await answered).status).toBe(200);
    for (const c of [first, second, third]) c.socket.destroy();
  });

  it('sends GOAWAY to an h2 connection above the limit; its open stream still completes', async () => {
    const { edge, a } = await setup({});
    const older = await h2Session(edge.port, edge.pki.caFile);
    expect((await h2Request(older, { ':path': '/' })).status).toBe(200);
    const newer: ClientHttp2Session = await h2Session(edge.port, edge.pki.caFile);
    expect((await h2Request(newer, { ':path': '/' })).status).toBe(200);
    let goaway = false;
    newer.on('goaway', () => { goaway = true; });
    a.update(performance.now());
    await waitFor(() => goaway, 'GOAWAY on the newest h2 connection');
    expect((await h2Request(older, { ':path': '/' })).status).toBe(200);
    older.close();
    newer.close();
  });

  it('reports the worker overloaded while it limits, and counts refusals in metrics', async () => {
    const { edge, a } = await setup({ maxQueued: 0 });
    const refusedBefore = await refusedMetric('queue-full');
    const first = tlsConn(edge);
    expect((await first.request()).status).toBe(200);
    const second = tlsConn(edge);
    expect((await second.request()).status).toBe(200);
    expect(edge.runtime.overload.level()).toBe('ok');
    // The manager steps admission on its tick and reads the limit then.
    edge.runtime.overload.tick();
    expect(a.limit).toBe(1);
    expect(edge.runtime.overload.level()).toBe('overloaded');
    const refused = tlsConn(edge);
    await waitFor(() => refused.closed, 'the connection to be refused (queue of 0)');
    expect(refused.secure).toBe(false);
    expect(a.stats().refused).toBe(1);
    expect(await refusedMetric('queue-full')).toBe(refusedBefore + 1);
    expect((await register.getSingleMetric('anyedge_admission_limited')?.get())?.values[0]?.value).toBe(1);
    first.socket.destroy();
    second.socket.destroy();
  });
});

/** Enough of a socket for offer(): it is paused, listened to and maybe destroyed. */
function fakeSocket(): Socket {
  const s = { destroyed: false, pause: () => s, on: () => s, once: () => s, off: () => s, destroy: () => { s.destroyed = true; return s; } };
  return s as unknown as Socket;
}

/** A socket that can close: its 'close' listeners run when the test emits it. */
function closableSocket(): Socket & EventEmitter {
  const s = Object.assign(new EventEmitter(), { destroyed: false, pause: () => s, destroy: () => { s.destroyed = true; s.emit('close'); return s; } });
  return s as unknown as Socket & EventEmitter;
}

class FakeSources {
  open = 0;
  handshaking = 0;
  requests = 0;
  busy = 0;
  utilization = 0;
  loopWait = 0;
  readonly sources = {
    open: () => this.open,
    handshaking: () => this.handshaking,
    requests: () => this.requests,
    busy: () => this.busy,
    utilization: () => this.utilization,
    loopWait: () => this.loopWait,
  };
}

describe('ConnectionAdmission control step', () => {
  const cfg = admissionSchema.parse({ minConnections: 4, targetDelay: '20ms', saturation: 0.9, releaseAfter: '1s' });
  /** Admission after its first step, which only starts the interval the next one measures. */
  const started = (f: FakeSources, c = cfg): ConnectionAdmission => {
    const a = new ConnectionAdmission(c, f.sources);
    a.update(0);
    return a;
  };

  it('limits a saturated worker to the busy connections that fit in targetDelay at the measured CPU per request', () => {
    const f = new FakeSources();
    const a = started(f);
    // 250 ms, 100 % busy, 2,500 requests: 0.1 ms each, so 200 fit in 20 ms.
    Object.assign(f, { requests: 2500, utilization: 1, busy: 150 });
    expect(a.update(250)).toBe(Number.POSITIVE_INFINITY);
    expect(a.costMs).toBeCloseTo(0.1);
    Object.assign(f, { requests: 5000, busy: 400 });
    expect(a.update(500)).toBe(200);
    expect(a.excess()).toBe(200);
    // The cost is smoothed (0.7 old + 0.3 new): 0.2 ms per request for a step → 0.13 → 153.
    Object.assign(f, { requests: 6250, busy: 200 });
    expect(a.update(750)).toBe(153);
    expect(a.excess()).toBe(47);
    // Saturated and limited: the limit follows the capacity even with fewer busy than it, but
    // not a move within a fifth of it (a dead band): 165 would fit now, the limit stays 153.
    Object.assign(f, { requests: 8750, busy: 100 });
    expect(a.limiting).toBe(true);
    expect(Math.floor(20 / (0.13 * 0.7 + 0.1 * 0.3))).toBe(165);
    expect(a.update(1000)).toBe(153);
    expect(a.excess()).toBe(0);
    // A larger move is followed (up by a quarter at most): 0.05 ms per request for a step →
    // 0.1 ms smoothed → 200 fit, and the limit rises to 192.
    Object.assign(f, { requests: 13750, busy: 100 });
    expect(Math.floor(20 / ((0.13 * 0.7 + 0.1 * 0.3) * 0.7 + 0.05 * 0.3))).toBe(200);
    expect(a.update(1250)).toBe(Math.ceil(153 * 1.25));
  });

  it('counts a connection let in since the last step against the limit until a step counts it or it closes', () => {
    const f = new FakeSources();
    const a = started(f);
    // 10 ms per request: the floor, 4, is the limit.
    Object.assign(f, { requests: 25, utilization: 1, busy: 50 });
    expect(a.update(250)).toBe(4);
    // Two of them busy now: room for two more, whose handshakes end at once.
    Object.assign(f, { requests: 50, busy: 2 });
    expect(a.update(500)).toBe(4);
    const sockets = [closableSocket(), closableSocket(), closableSocket()];
    const admitted: number[] = [];
    sockets.forEach((s, i) => a.offer(s, () => admitted.push(i)));
    expect(admitted).toEqual([0, 1]);
    expect(a.stats().queued).toBe(1);
    // One of the two leaves (a client that makes one request per connection): its place goes
    // to the one waiting, without waiting for the next step.
    sockets[0]!.emit('close');
    a.released();
    expect(admitted).toEqual([0, 1, 2]);
    expect(a.stats().queued).toBe(0);
    // The next step counts what is busy afresh: all four places free again.
    Object.assign(f, { requests: 75, busy: 0 });
    a.update(750);
    const more = [closableSocket(), closableSocket(), closableSocket(), closableSocket(), closableSocket()];
    more.forEach((s, i) => a.offer(s, () => admitted.push(10 + i)));
    expect(admitted.slice(3)).toEqual([10, 11, 12, 13]);
    expect(a.stats().queued).toBe(1);
    a.close();
  });

  it('does not limit a saturated worker whose busy connections all fit, nor a busy one that is not saturated', () => {
    const f = new FakeSources();
    const a = started(f);
    Object.assign(f, { requests: 2500, utilization: 1, busy: 50 });
    expect(a.update(250)).toBe(Number.POSITIVE_INFINITY);
    Object.assign(f, { requests: 5000, utilization: 0.5, busy: 5000 });
    expect(a.update(500)).toBe(Number.POSITIVE_INFINITY);
  });

  it('lifts the limit after releaseAfter without saturation; saturation again restarts the wait', () => {
    const f = new FakeSources();
    const a = started(f);
    Object.assign(f, { requests: 2500, utilization: 1, busy: 400 });
    expect(a.update(250)).toBe(200);
    Object.assign(f, { requests: 3000, utilization: 0.5, busy: 50 });
    expect(a.update(500)).toBe(200);
    f.utilization = 1;
    f.requests = 5500;
    a.update(750);
    expect(a.limiting).toBe(true);
    f.utilization = 0.3;
    f.requests = 5600;
    a.update(1000);
    expect(a.update(1999)).not.toBe(Number.POSITIVE_INFINITY);
    expect(a.update(2000)).toBe(Number.POSITIVE_INFINITY);
    expect(a.limiting).toBe(false);
  });

  it('counts clients that pause between requests by the loop\'s lateness, not only by CPU', () => {
    const f = new FakeSources();
    const a = started(f);
    // 0.1 ms per request: 200 fit in 20 ms by CPU. 300 busy connections, but requests wait
    // only about 4 ms for the loop: these clients pause between requests, and 300 × 20 / 4 =
    // 1,500 of them fit. No limit.
    Object.assign(f, { requests: 2500, utilization: 1, busy: 300, loopWait: 4 });
    expect(a.update(250)).toBe(Number.POSITIVE_INFINITY);
    expect(a.loopWaitMs).toBeCloseTo(4);
    // The same clients, requests waiting 40 ms: 150 by the wait, 200 by CPU; the larger
    // stands, so a late loop never limits below what the CPU estimate allows.
    const g = new FakeSources();
    const b = started(g);
    Object.assign(g, { requests: 2500, utilization: 1, busy: 300, loopWait: 40 });
    expect(b.update(250)).toBe(200);
    // Wait measured 0: no evidence, the CPU estimate alone decides.
    const h = new FakeSources();
    const c = started(h);
    Object.assign(h, { requests: 2500, utilization: 1, busy: 300, loopWait: 0 });
    expect(c.update(250)).toBe(200);
  });

  it('raises a limit by at most a quarter a step, and while the loop has room and connections wait', () => {
    const f = new FakeSources();
    const a = started(f);
    Object.assign(f, { requests: 2500, utilization: 1, busy: 400 });
    expect(a.update(250)).toBe(200);
    // Much cheaper requests: 273 fit now (cost smoothed to 0.073 ms), but the limit rises by
    // a quarter a step.
    Object.assign(f, { requests: 27500, busy: 200 });
    expect(a.update(500)).toBe(250);
    // Not saturated and nobody waiting: the limit stays until it is lifted.
    Object.assign(f, { requests: 28000, utilization: 0.5, busy: 100 });
    expect(a.update(750)).toBe(250);
    // Not saturated with a connection waiting: a quarter more.
    const waiting = fakeSocket();
    let admitted = false;
    Object.assign(f, { busy: 300 });
    a.update(1000);
    a.offer(waiting, () => { admitted = true; });
    expect(a.stats().queued).toBe(1);
    expect(a.update(1250)).toBe(Math.ceil(250 * 1.25));
    expect(admitted).toBe(true);
  });

  it('never goes below minConnections, and does nothing when disabled', () => {
    const f = new FakeSources();
    const a = started(f);
    // 10 ms per request: 2 would fit in 20 ms; the floor is 4.
    Object.assign(f, { requests: 25, utilization: 1, busy: 50 });
    expect(a.update(250)).toBe(4);
    const g = new FakeSources();
    const off = started(g, { ...cfg, enabled: false });
    Object.assign(g, { requests: 25, utilization: 1, busy: 50 });
    expect(off.update(250)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('loopWaitSince', () => {
  it('reads loop turns longer than its timer\'s period as the wait, not as twice the lateness', async () => {
    const wait = loopWaitSince(10);
    try {
      wait.read();
      // Turns of at least 14 ms: an interval that keeps the loop busy for 14 ms, due at once again.
      const end = performance.now() + 400;
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          const until = performance.now() + 14;
          while (performance.now() < until) { /* a long turn */ }
          if (performance.now() > end) { clearInterval(t); resolve(); }
        }, 1);
      });
      // A request waits about a turn; twice the lateness would say 2 × (14 − 10) = 8 ms.
      expect(wait.read()).toBeGreaterThanOrEqual(13.5);
    } finally {
      wait.stop();
    }
  });
});
