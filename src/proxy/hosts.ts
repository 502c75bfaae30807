// Host / :authority → virtual host. Only configured names are served: a request for any
// other host is refused (421) unless a defaultHost is set, so the node is never an open proxy.
import type { HostConfig } from '../config/schema.js';

export class HostRouter<V extends { config: HostConfig }> {
  readonly #exact = new Map<string, V>();
  readonly #wildcard = new Map<string, V>();
  readonly #any: V | undefined;
  readonly #fallback: V | undefined;

  constructor(hosts: readonly V[], defaultHost?: string) {
    let any: V | undefined;
    for (const h of hosts) {
      for (const n of h.config.names) {
        if (n === '*') any = h;
        else if (n.startsWith('*.')) this.#wildcard.set(n.slice(2), h);
        else this.#exact.set(n, h);
      }
    }
    this.#any = any;
    this.#fallback = defaultHost === undefined ? undefined : this.#exact.get(defaultHost) ?? this.#wildcard.get(defaultHost.slice(2));
  }

  /** host is the Host header or :authority, possibly with a port; lower-cased here. */
  match(host: string | undefined): V | undefined {
    if (host) {
      const name = hostName(host);
      const exact = this.#exact.get(name);
      if (exact) return exact;
      const dot = name.indexOf('.');
      if (dot > 0) {
        const wild = this.#wildcard.get(name.slice(dot + 1));
        if (wild) return wild;
      }
      if (this.#any) return this.#any;
    }
    return this.#fallback;
  }
}

/** "Example.COM:8443" → "example.com"; "[::1]:8443" → "::1". */
export function hostName(host: string): string {
  let h = host;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    return (end > 0 ? h.slice(1, end) : h).toLowerCase();
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}
