// Surrogate keys (tags) for purging a group of objects at once. Two conventions exist:
//   Surrogate-Key: a b c        space separated (Fastly)
//   Cache-Tag: a,b,c            comma separated (Cloudflare, Akamai "Edge-Cache-Tag")
// Both are read; neither is forwarded to clients (stored-headers.ts EDGE_ONLY).
import type { HeaderMap } from '../http/headers.js';

/** Bounds per object, so a response cannot make the tag index unboundedly large. */
export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 256;

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : v;
}

/** The object's tags, de-duplicated, in order of appearance. Tags are case-sensitive. */
export function surrogateKeys(headers: HeaderMap): string[] {
  const out = new Set<string>();
  const add = (t: string): void => {
    if (t !== '' && t.length <= MAX_TAG_LENGTH && out.size < MAX_TAGS) out.add(t);
  };
  for (const line of values(headers['surrogate-key'])) for (const t of line.split(/[ \t]+/)) add(t);
  for (const line of values(headers['cache-tag'])) for (const t of line.split(',')) add(t.trim());
  return [...out];
}
