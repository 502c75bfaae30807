// One readiness probe over HTTP. Every way a probe can go wrong becomes a `failure` signal
// with the reason in `error`/`detail`: the sidecar fails closed.
import { request } from 'undici';
import { classifyReadiness, type ProbeResult } from './readiness.js';

/** Larger bodies are cut here; a readiness answer is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export interface ReadyzProbeOptions {
  /** The node's unicast admin /readyz URL. */
  url: string;
  /** Whole probe (connect, headers, body) in milliseconds. */
  timeout: number;
  /** Bearer token for the admin plane, when it requires one. */
  token?: string;
}

export type Probe = (signal?: AbortSignal) => Promise<ProbeResult>;

export function createReadyzProbe(opts: ReadyzProbeOptions): Probe {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;

  return async (outer) => {
    const started = performance.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new ProbeTimeout()), opts.timeout);
    const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
    try {
      // reset: no keep-alive. A reused connection the server is closing would turn into a
      // spurious failure, and a fresh connect is what tells us the listener is alive.
      const res = await request(opts.url, { method: 'GET', headers, signal, reset: true });
      let body = '';
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          break;
        }
        body += chunk.toString('utf8');
      }
      return { ...classifyReadiness(res.statusCode, body), ms: Math.round(performance.now() - started) };
    } catch (err) {
      const code = timeout.signal.aborted ? 'TIMEOUT' : errorCode(err);
      const detail = code === 'TIMEOUT' ? `no answer within ${opts.timeout}ms` : `probe failed: ${code}`;
      return { signal: 'failure', result: 'error', error: code, detail, ms: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  };
}

class ProbeTimeout extends Error {
  override readonly name = 'ProbeTimeout';
  constructor() { super('readiness probe timed out'); }
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.name === 'string') return e.name;
  return 'UNKNOWN';
}
