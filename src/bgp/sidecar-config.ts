// The sidecar's configuration as runSidecar takes it: the `sidecar` section of the config
// file (durations already in ms) plus what only the command line or the node's admin
// section can say. Checked once at start-up, with messages that name the key.
import { BlockList, isIP } from 'node:net';
import type { SidecarConfig } from '../config/schema.js';

export type SidecarRunConfig = SidecarConfig & {
  /** The node's unicast admin /readyz URL (required here; the CLI derives it from admin.*). */
  readyz: string;
  /** ADDR:PORT for an HTTP listener serving GET /metrics; none when unset. */
  metrics?: string;
  /** Bearer token for the admin plane (admin.token), when it requires one. */
  token?: string;
};

/** "192.0.2.1/32" → parts, or undefined when it is not an IP prefix. */
export function parsePrefix(prefix: string): { address: string; length: number; family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(prefix);
  if (!m) return undefined;
  const address = m[1] ?? '';
  const length = Number(m[2]);
  const v = isIP(address);
  if (v === 0 || length > (v === 4 ? 32 : 128)) return undefined;
  return { address, length, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** "127.0.0.1:9902" | "[::1]:9902" → parts, or undefined. */
export function parseAddressPort(value: string): { address: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) return undefined;
  return { address: m[1] ?? '', port: Number(m[2]) };
}

/** Every problem with a run configuration, each naming its key; empty when fine. */
export function sidecarConfigProblems(cfg: SidecarRunConfig): string[] {
  const problems: string[] = [];
  const anycast = new BlockList();
  for (const [i, p] of cfg.prefixes.entries()) {
    const parsed = parsePrefix(p);
    if (!parsed) problems.push(`sidecar.prefixes[${i}]: expected an IP prefix like 192.0.2.1/32, got ${JSON.stringify(p)}`);
    else anycast.addSubnet(parsed.address, parsed.length, parsed.family);
  }
  if (cfg.prefixes.length === 0) problems.push('sidecar.prefixes: at least one prefix is needed');

  let url: URL | undefined;
  try {
    url = new URL(cfg.readyz);
  } catch {
    problems.push(`sidecar.readyz: expected a URL like http://10.0.0.5:9901/readyz, got ${JSON.stringify(cfg.readyz)}`);
  }
  if (url) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`sidecar.readyz: expected http:// or https://, got ${url.protocol}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const family = isIP(host);
    if (family !== 0 && anycast.check(host, family === 4 ? 'ipv4' : 'ipv6')) {
      // Another node answers the anycast address; probing it would keep our route up on
      // someone else's health.
      problems.push(`sidecar.readyz: ${host} is inside an announced prefix; probe the node's unicast admin address instead`);
    }
  }
  if (cfg.metrics !== undefined && !parseAddressPort(cfg.metrics)) problems.push(`sidecar.metrics: expected ADDR:PORT like 127.0.0.1:9902, got ${JSON.stringify(cfg.metrics)}`);
  if (cfg.fastInterval > cfg.interval) problems.push(`sidecar.fastInterval (${cfg.fastInterval}ms) must not exceed sidecar.interval (${cfg.interval}ms)`);
  if (cfg.interval <= 0 || cfg.fastInterval <= 0) problems.push('sidecar.interval and sidecar.fastInterval must be above 0');
  if (cfg.timeout <= 0) problems.push('sidecar.timeout must be above 0');
  if (cfg.refresh <= 0) problems.push('sidecar.refresh must be above 0');
  const d = cfg.dampening;
  if (d.enabled) {
    if (d.reuse >= d.suppress) problems.push(`sidecar.dampening.reuse (${d.reuse}) must be below sidecar.dampening.suppress (${d.suppress})`);
    if (d.halfLife <= 0) problems.push('sidecar.dampening.halfLife must be above 0');
  }
  return problems;
}
