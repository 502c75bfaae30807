// Shared by the Node child servers (bare, forwarders): argument parsing, TLS material, the
// ready line and SIGTERM. Every one of them uses the bench certificate and long keep-alive.
import { readFileSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ECDH_CURVES, TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/server/tls.js';

export interface ChildArgs {
  cert: string;
  key: string;
  origin?: string;
  mode?: string;
  /** bare-fields: answer with anyedge's per-hit fields too. */
  fields?: boolean;
}

export function childArgs(): ChildArgs {
  const raw = process.argv[2];
  if (!raw) throw new Error('expected one JSON argument');
  return JSON.parse(raw) as ChildArgs;
}

/**
 * The bench certificate, and anyedge's cipher and curve preference (src/server/tls.ts), so
 * every Node subject negotiates what anyedge does: TLS_AES_128_GCM_SHA256 with wrk,
 * autocannon and h2load. Node's own default lets the client choose, and these clients offer
 * TLS_AES_256_GCM_SHA384 first, which costs ~5 µs more per 1 KiB response here: a bare
 * server on it was that much slower than it needs to be, and every ratio to it flattered
 * anyedge. nginx and HAProxy are set the same way in bench/peers/.
 */
export function tlsMaterial(a: ChildArgs): { cert: Buffer; key: Buffer; ciphers: string; ecdhCurve: string; honorCipherOrder: true } {
  return { cert: readFileSync(a.cert), key: readFileSync(a.key), ciphers: `${TLS13_CIPHERS}:${TLS12_CIPHERS}`, ecdhCurve: ECDH_CURVES, honorCipherOrder: true };
}

export function listen(server: NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function announce(ports: Record<string, number>): void {
  process.stdout.write(`${JSON.stringify({ ready: ports })}\n`);
}

export function stopOnSigterm(servers: Array<NetServer & { closeAllConnections?: () => void }>, extra?: () => Promise<unknown>): void {
  process.on('SIGTERM', () => {
    for (const s of servers) { s.closeAllConnections?.(); s.close(); }
    void (extra?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) a forwarder must not pass on. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'host']);
