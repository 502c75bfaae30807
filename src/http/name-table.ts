// Names → values, matched the way both SNI certificate selection and Host routing need:
// the exact name first, then a wildcard covering exactly one label ("*.example.com"
// matches "a.example.com", not "example.com" nor "a.b.example.com", as in RFC 6125 §6.4.3).
// The first value added for a name wins.
export class NameTable<V> {
  readonly #exact = new Map<string, V>();
  readonly #wildcard = new Map<string, V>();

  /** name: "example.com" or "*.example.com", lower-case. */
  add(name: string, value: V): void {
    if (name.startsWith('*.')) {
      const parent = name.slice(2);
      if (!this.#wildcard.has(parent)) this.#wildcard.set(parent, value);
    } else if (!this.#exact.has(name)) {
      this.#exact.set(name, value);
    }
  }

  /** The value added under exactly this name or pattern ("*.example.com" looks up the wildcard). */
  get(pattern: string): V | undefined {
    return pattern.startsWith('*.') ? this.#wildcard.get(pattern.slice(2)) : this.#exact.get(pattern);
  }

  /** name: a lower-case host name without port. */
  match(name: string): V | undefined {
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }
}
