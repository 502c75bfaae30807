// Vary and the secondary cache key (RFC 9111 §4.1, RFC 9110 §12.5.5).
import type { HeaderMap } from '../http/headers.js';

/**
 * - none: no Vary; the response is selected by the primary key alone.
 * - star: `Vary: *` (alone or among names, on any line) — never reused (§4.1), so not stored.
 * - names: the listed request fields, lower-cased, de-duplicated and sorted so that
 *   "Foo, Bar" and "bar, foo" give the same secondary key.
 */
export type VarySpec = { readonly kind: 'none' } | { readonly kind: 'star' } | { readonly kind: 'names'; readonly names: readonly string[] };

const NONE: VarySpec = { kind: 'none' };
const STAR: VarySpec = { kind: 'star' };

export function parseVary(value: string | string[] | undefined): VarySpec {
  if (value === undefined) return NONE;
  const joined = typeof value === 'string' ? value : value.join(',');
  const names = new Set<string>();
  for (const part of joined.split(',')) {
    const n = part.trim().toLowerCase();
    if (n === '*') return STAR;
    if (n !== '') names.add(n);
  }
  return names.size === 0 ? NONE : { kind: 'names', names: [...names].sort() };
}

/**
 * A request field's value normalised for comparison (§4.1 allows normalising whitespace and
 * combining field lines): lines joined by commas, whitespace around each comma-separated
 * element removed. `undefined` stays distinct from the empty value.
 */
export function normaliseFieldValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const joined = typeof value === 'string' ? value : value.join(',');
  if (!joined.includes(',')) return joined.trim();
  const parts = joined.split(',');
  for (let i = 0; i < parts.length; i++) parts[i] = (parts[i] ?? '').trim();
  return parts.join(',');
}

/**
 * The secondary key: each varying field's name with its normalised value, or a marker for
 * "absent" (an absent field only matches an absent field, §4.1). The names are part of the
 * key, so responses stored under different Vary lists can never be confused.
 */
export function secondaryKey(names: readonly string[], headers: HeaderMap): string {
  let key = '';
  for (const name of names) {
    const v = normaliseFieldValue(headers[name]);
    key += v === undefined ? `${name}\u0001\n` : `${name}:${v}\n`;
  }
  return key;
}
