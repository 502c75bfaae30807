// Host / :authority → virtual host. Only configured names are served: a request for any
// other host is refused (421) unless a defaultHost is set, so the node is never an open proxy.
import type { HostConfig } from '../config/schema.js';
import { NameTable } from '../http/name-table.js';

export class HostRouter<V extends { config: HostConfig }> {
  readonly #names = new NameTable<V>();
  readonly #any: V | undefined;
  readonly #fallback: V | undefined;

  constructor(hosts: readonly V[], defaultHost?: string) {
    let any: V | undefined;
    for (const h of hosts) {
      for (const n of h.config.names) {
        if (n === '*') any = h;
        else this.#names.add(n, h);
      }
    }
    this.#any = any;
    this.#fallback = defaultHost === undefined ? undefined : this.#names.get(defaultHost);
  }

  /** The last Host seen and its answer: clients repeat the same Host request after request. */
  #lastHost: string | undefined;
  #lastMatch: V | undefined;

  /** host is the Host header or :authority, possibly with a port; lower-cased here. */
  match(host: string | undefined): V | undefined {
    if (host !== undefined && host === this.#lastHost) return this.#lastMatch;
    const found = this.#match(host);
    this.#lastHost = host;
    this.#lastMatch = found;
    return found;
  }

  #match(host: string | undefined): V | undefined {
    if (host) {
      const found = this.#names.match(hostName(host));
      if (found) return found;
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
