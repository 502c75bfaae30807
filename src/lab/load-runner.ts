// Load from inside a client namespace, counted per answering node (the `Via: 1.1 <node>`
// header) in short time slices, printed as JSON lines for the lab to collect:
//
//   ip netns exec aelab-main-client-west node load-runner.js --engine probe \
//     --url https://192.0.2.1/cacheable --host anycast.lab --ca ca.pem \
//     --connections 16 --rate 200 --duration 10000
//
//   {"type":"start","ts":…}
//   {"type":"slice","ts":…,"ok":{"edge1":19},"failed":0,"retried":0,"errors":{}}   every --slice ms
//   {"type":"change","ts":…,"from":"edge1","to":"edge2"}   the answering node changed
//   {"type":"fail","ts":…,"code":"ECONNREFUSED"}           (the first 2000)
//   {"type":"done","ts":…,"total":…,"failed":…,"retried":…}
//
// Engines:
//   probe  --connections users (undici Clients, one keep-alive connection each) paced
//          to --rate in total, each waiting for its answer (or --timeout). A GET whose connection is reset or closed before the
//          response begins is retried once on a new connection, as browsers do for
//          idempotent requests (RFC 9110 §9.2.2). Anycast moves packets, not TCP
//          connections: after a route change the next packet of an old connection reaches
//          a node that never heard of it and is answered with a reset; that retry is what
//          makes such a move invisible. A refused connection, a timeout (--timeout, for
//          the whole request) or an error status is a failure.
//   flood  autocannon (--connections, --rate 0 = as fast as it can), no retries: every
//          error autocannon reports (including each failed reconnect) is counted.
//   once   one request; prints {"type":"once","node":…} or {"type":"once","error":…}.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { request as httpsRequest } from 'node:https';
import type { Dispatcher } from 'undici';
import { viaNode } from './samples.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'probe' },
    url: { type: 'string' },
    host: { type: 'string' },
    ca: { type: 'string' },
    connections: { type: 'string', default: '8' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10000' },
    /** Stop at this time (epoch ms) instead: streams started late end with the run. */
    until: { type: 'string' },
    slice: { type: 'string', default: '100' },
    timeout: { type: 'string', default: '1000' },
  },
});

const url = new URL(values.url ?? 'https://192.0.2.1/');
const host = values.host ?? url.host;
const ca = values.ca ? readFileSync(values.ca) : undefined;
const connections = Math.max(1, Number(values.connections));
const rate = Math.max(0, Number(values.rate));
const until = values.until === undefined ? undefined : Number(values.until);
const duration = Math.max(0, until !== undefined ? until - Date.now() : Number(values.duration));
/** When load stops: --until, or --duration after the engine started. */
const endOf = (start: number): number => until ?? start + duration;
const sliceMs = Math.max(10, Number(values.slice));
const timeout = Math.max(100, Number(values.timeout));
const MAX_EVENTS = 2000;

/** Errors after which a browser retries an idempotent request on a new connection. */
const RETRY_ON = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

interface Slice { ts: number; ok: Record<string, number>; failed: number; retried: number; errors: Record<string, number> }

const emit = (o: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };

class Recorder {
  readonly start = Date.now();
  #slices = new Map<number, Slice>();
  #emitted = -1;
  #last: string | undefined;
  #events = 0;
  total = 0;
  failed = 0;
  retried = 0;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    emit({ type: 'start', ts: this.start, sliceMs });
    this.#timer = setInterval(() => this.flush(false), sliceMs);
  }

  #slice(now: number): Slice {
    const i = Math.floor((now - this.start) / sliceMs);
    let s = this.#slices.get(i);
    if (!s) this.#slices.set(i, (s = { ts: this.start + i * sliceMs, ok: {}, failed: 0, retried: 0, errors: {} }));
    return s;
  }

  ok(node: string): void {
    const now = Date.now();
    const s = this.#slice(now);
    s.ok[node] = (s.ok[node] ?? 0) + 1;
    this.total++;
    if (node !== this.#last) {
      if (this.#events++ < MAX_EVENTS) emit({ type: 'change', ts: now, from: this.#last ?? null, to: node });
      this.#last = node;
    }
  }

  fail(code: string): void {
    const now = Date.now();
    const s = this.#slice(now);
    s.failed++;
    s.errors[code] = (s.errors[code] ?? 0) + 1;
    this.total++;
    this.failed++;
    if (this.#events++ < MAX_EVENTS) emit({ type: 'fail', ts: now, code });
  }

  retry(): void {
    this.#slice(Date.now()).retried++;
    this.retried++;
  }

  /** Prints the slices that are complete (all of them when final). */
  flush(final: boolean, extra: Record<string, unknown> = {}): void {
    const current = Math.floor((Date.now() - this.start) / sliceMs);
    const last = final ? Math.max(current, ...this.#slices.keys()) : current - 1;
    for (let i = this.#emitted + 1; i <= last; i++) {
      const s = this.#slices.get(i) ?? { ts: this.start + i * sliceMs, ok: {}, failed: 0, retried: 0, errors: {} };
      emit({ type: 'slice', ...s });
      this.#slices.delete(i);
    }
    this.#emitted = Math.max(this.#emitted, last);
    if (final) {
      clearInterval(this.#timer);
      emit({ type: 'done', ts: Date.now(), total: this.total, failed: this.failed, retried: this.retried, ...extra });
    }
  }
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: string };
  // An AbortSignal.timeout() reason is a DOMException (name TimeoutError, numeric code).
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'TIMEOUT';
  if (typeof e.code === 'string') return e.code;
  if (typeof e.cause?.code === 'string') return e.cause.code;
  return e.name ?? 'ERROR';
}

function connectOptions(): { ca?: Buffer; servername: string; timeout: number } {
  return { ...(ca ? { ca } : {}), servername: host.replace(/:\d+$/, ''), timeout: Math.min(timeout, 1000) };
}

async function request(d: Dispatcher, signal: AbortSignal): Promise<{ node: string; status: number }> {
  const res = await d.request({ path: `${url.pathname}${url.search}`, method: 'GET', headers: { host }, signal });
  await res.body.dump();
  return { node: viaNode(res.headers['via']), status: res.statusCode };
}

/**
 * --connections users, each with its own keep-alive connection, each sending a GET every
 * connections/rate seconds (sooner never: a user waits for the answer or the timeout).
 * Closed loop on purpose: on a busy machine an open-loop client turns a slow moment into
 * a storm of timeouts and new TLS handshakes and measures itself; a user stuck on a hung
 * node waits for its timeout, as a real one would, while the others carry on.
 */
async function probe(): Promise<void> {
  // Loaded on demand: `once` (used by `lab status`) starts faster without it.
  const { Client } = await import('undici');
  const rec = new Recorder();
  let end = endOf(rec.start);
  process.once('SIGTERM', () => { end = Math.min(end, Date.now()); });
  const interval = rate > 0 ? (connections * 1000) / rate : 0;
  const user = async (i: number): Promise<void> => {
    const client = new Client(url.origin, { connect: connectOptions(), headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000, pipelining: 1 });
    let next = rec.start + (interval * i) / connections;
    try {
      while (Date.now() < end) {
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, end - Date.now())));
        if (Date.now() >= end) break;
        next = Math.max(next + interval, Date.now());
        const signal = AbortSignal.timeout(timeout);
        let result: { node: string; status: number } | undefined;
        let failure: string | undefined;
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            result = await request(client, signal);
            failure = undefined;
            break;
          } catch (err) {
            failure = errorCode(err);
            // The browser's retry: once, and the client opens a new connection for it.
            if (attempt === 0 && RETRY_ON.has(failure) && !signal.aborted) rec.retry();
            else break;
          }
        }
        if (result && result.status < 400) rec.ok(result.node);
        else rec.fail(result ? `HTTP_${result.status}` : failure ?? 'ERROR');
      }
    } finally {
      void client.destroy().catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => user(i)));
  rec.flush(true);
}

async function flood(): Promise<void> {
  let autocannon: typeof import('autocannon').default;
  try {
    autocannon = (await import('autocannon')).default;
  } catch {
    throw new Error('the flood engine needs autocannon (a development dependency of anyedge: npm install)');
  }
  const rec = new Recorder();
  await new Promise<void>((resolve) => {
    const inst = autocannon({
      url: url.href,
      connections,
      // What is left of the run once autocannon is loaded (a late flood ends with the run).
      duration: Math.max(0.5, (endOf(rec.start) - Date.now()) / 1000),
      ...(rate > 0 ? { overallRate: rate } : {}),
      timeout: timeout / 1000,
      headers: { host },
      servername: host.replace(/:\d+$/, ''),
      setupClient(client) {
        client.on('headers', (info) => {
          const h = info.headers;
          let via: string | undefined;
          for (let i = 0; i + 1 < h.length; i += 2) if (h[i]!.toLowerCase() === 'via') via = h[i + 1];
          if (info.statusCode < 400) rec.ok(viaNode(via));
          else rec.fail(`HTTP_${info.statusCode}`);
        });
      },
    });
    inst.on('reqError', (err) => rec.fail(errorCode(err)));
    inst.on('done', () => resolve());
    process.once('SIGTERM', () => inst.stop());
  });
  rec.flush(true);
}

async function once(): Promise<void> {
  await new Promise<void>((resolve) => {
    const req = httpsRequest({
      host: url.hostname, port: url.port || 443, path: `${url.pathname}${url.search}`, method: 'GET',
      headers: { host }, servername: host.replace(/:\d+$/, ''), ...(ca ? { ca } : {}), timeout,
    }, (res) => {
      res.resume();
      res.on('end', () => { emit({ type: 'once', node: viaNode(res.headers['via']), status: res.statusCode }); resolve(); });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => { emit({ type: 'once', error: errorCode(err) }); resolve(); });
    req.end();
  });
}

// Bounded whatever happens: the lab never leaves load running.
setTimeout(() => process.exit(3), duration + 4 * timeout + 5000).unref();
const engines: Record<string, () => Promise<void>> = { probe, flood, once };
const engine = engines[values.engine ?? 'probe'];
if (!engine) {
  process.stderr.write(`load-runner: unknown engine ${values.engine}\n`);
  process.exit(2);
}
engine().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`load-runner: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
