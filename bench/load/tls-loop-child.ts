// New TLS connection per request: C loops, each connects, sends one HTTP/1.1 request with
// `Connection: close`, reads the response to the end, and starts over. "full": every
// handshake is a full one; "resumed": each loop offers the last session ticket it received
// (TLS 1.3 PSK resumption). Neither autocannon nor wrk can do this (they keep connections
// open; wrk does not offer tickets); h2load keeps its connections too. Child entry; prints
// {"result": LoadResult}. The client does as much crypto per full handshake as the server,
// so on one core the figure is a floor on what the server can do (see the report).
import { connect, type TLSSocket } from 'node:tls';
import { Samples, percentile, type LoadResult, type LoadSpec } from './types.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const request = Buffer.from(`GET ${spec.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);

interface Tally { ok: number; non2xx: number; errors: number; resumed: number; samples: Samples }

function once(session: Buffer | undefined, t: Tally | undefined): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const start = performance.now();
    let next: Buffer | undefined = session;
    let head = '';
    const sock: TLSSocket = connect({ host: '127.0.0.1', port: spec.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...(session ? { session } : {}) });
    sock.on('session', (s: Buffer) => { next = s; });
    sock.once('secureConnect', () => { if (t && sock.isSessionReused()) t.resumed++; sock.write(request); });
    sock.on('data', (d: Buffer) => { if (head.length < 16) head += d.toString('latin1', 0, 16); });
    sock.once('error', () => { if (t) t.errors++; });
    sock.once('close', (hadError) => {
      if (t && !hadError) {
        const status = Number(head.slice(9, 12));
        if (status >= 200 && status < 300) { t.ok++; t.samples.push(performance.now() - start); } else t.non2xx++;
      }
      resolve(spec.handshake === 'resumed' ? next : undefined);
    });
    sock.setTimeout(10_000, () => sock.destroy());
  });
}

async function phase(seconds: number, t: Tally | undefined, sessions: Array<Buffer | undefined>): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(sessions.map(async (_s, i) => {
    while (performance.now() < end) sessions[i] = await once(sessions[i], t);
  }));
  return (performance.now() - start) / 1000;
}

const sessions: Array<Buffer | undefined> = new Array(spec.connections).fill(undefined);
if (spec.warmupS > 0) await phase(spec.warmupS, undefined, sessions);
const t: Tally = { ok: 0, non2xx: 0, errors: 0, resumed: 0, samples: new Samples() };
const elapsed = await phase(spec.durationS, t, sessions);
const sorted = t.samples.sorted();
const result: LoadResult = {
  generator: 'tls-loop',
  rps: t.ok / elapsed,
  p50Ms: percentile(sorted, 50),
  p99Ms: percentile(sorted, 99),
  responses: t.ok + t.non2xx,
  non2xx: t.non2xx,
  errors: t.errors,
  durationS: elapsed,
  extra: { resumedFraction: t.ok + t.non2xx ? Number((t.resumed / (t.ok + t.non2xx)).toFixed(3)) : 0 },
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
