// An anyedge node in this process (no cluster): real listeners on port 0, real TLS with
// generated certificates. For process-level behaviour (signals, workers) see cli.ts.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createRuntime, type Runtime } from '../../src/server/runtime.js';
import type { Agent } from 'undici';
import { createTestPki, type TestPki } from './certs.js';
import { testAgent } from './clients.js';
import { startOrigin, type TestOrigin } from './origin.js';

export interface TestEdge {
  runtime: Runtime;
  port: number;
  url: string;
  pki: TestPki;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

let pkiPromise: Promise<{ pki: TestPki; cert: string; key: string }> | undefined;

/** One PKI per test file: a CA and a leaf for localhost / 127.0.0.1 / ::1. */
export function testPki() {
  pkiPromise ??= createTestPki().then(async (pki) => {
    const leaf = await pki.leaf(['localhost', '127.0.0.1', '::1']);
    return { pki, cert: leaf.certFile, key: leaf.keyFile };
  });
  return pkiPromise;
}

export async function startEdge(input: ConfigInput & Record<string, unknown>, opts: { ticketKeys?: Buffer } = {}): Promise<TestEdge> {
  const { pki, cert, key } = await testPki();
  const raw = {
    listeners: [{ address: '127.0.0.1', port: 0, tls: true }],
    certificates: [{ names: [], cert, key }],
    admin: { port: 0 },
    ...input,
  };
  const config = validateConfig(raw);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l)); cb(); } });
  const log = pino({ level: 'info' }, sink);
  const runtime = createRuntime(config, { ticketKeys: opts.ticketKeys ?? randomBytes(48), log });
  const [l] = await runtime.listen();
  const port = l!.port;
  return {
    runtime, port, pki, logs,
    url: `${l!.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: async () => { await runtime.close(2000); },
  };
}

export interface ProxiedEdge {
  origin: TestOrigin;
  edge: TestEdge;
  /** HTTP/1.1 undici agent trusting the edge's CA. */
  agent: Agent;
  close(): Promise<void>;
}

/**
 * A test origin and an edge in front of it, for tests of the forwarding path: cache and
 * overload manager off unless `input` turns them on; `input` gets the origin's URL.
 */
export async function startProxiedEdge(input: (originUrl: string) => ConfigInput & Record<string, unknown>): Promise<ProxiedEdge> {
  const origin = await startOrigin();
  const edge = await startEdge({ cache: { enabled: false }, overload: { enabled: false }, ...input(origin.url) });
  const agent = testAgent(edge.pki.caFile);
  return {
    origin, edge, agent,
    close: async () => {
      await agent.close();
      await edge.close();
      await origin.close();
    },
  };
}
