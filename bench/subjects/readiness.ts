// Subjects that print no ready line (nginx, HAProxy) are ready when GET /1k answers over TLS.
import { request } from 'node:https';
import { BenchError, type Managed } from '../processes.js';

function probe(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/1k', rejectUnauthorized: false, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function waitForHttps(m: Managed, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (m.exitCode() !== undefined) throw new BenchError(m.name, `exited (code ${m.exitCode()}) before it was ready\n${m.tail()}`);
    last = await probe(port);
    if (last === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BenchError(m.name, `GET https://127.0.0.1:${port}/1k did not answer 200 within ${timeoutMs} ms (last status ${last || 'no answer'})\n${m.tail()}`);
}

/** Waits for {"ready":{...ports}} from a Node child server. */
export function readyPorts(m: Managed, timeoutMs = 15_000): Promise<Record<string, number>> {
  return m.waitForLine((_l, json) => {
    const r = (json as { ready?: Record<string, number> } | undefined)?.ready;
    return r && typeof r === 'object' ? r : undefined;
  }, timeoutMs);
}

/**
 * Between scenarios: wait until anyedge's /readyz says "ready" again (its overload manager
 * may still be shedding from the last scenario), so each scenario starts from a calm node.
 * Returns the state seen last.
 */
export async function settleReadyz(adminUrl: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = 'unknown';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      state = ((await res.json()) as { state?: string }).state ?? 'unknown';
      if (state === 'ready') return state;
    } catch { /* not answering yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  return state;
}
