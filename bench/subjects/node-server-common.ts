// Shared by the Node child servers (bare, forwarders): argument parsing, TLS material, the
// ready line and SIGTERM. Every one of them uses the bench certificate and long keep-alive.
import { readFileSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ChildArgs {
  cert: string;
  key: string;
  origin?: string;
  mode?: string;
}

export function childArgs(): ChildArgs {
  const raw = process.argv[2];
  if (!raw) throw new Error('expected one JSON argument');
  return JSON.parse(raw) as ChildArgs;
}

export function tlsMaterial(a: ChildArgs): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(a.cert), key: readFileSync(a.key) };
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
