// Entity tags (RFC 9110 §8.8.3): parsing, formatting and the two comparison functions.

/** An entity-tag: `W/"xyz"` is `{ weak: true, tag: 'xyz' }`. */
export interface EntityTag {
  readonly weak: boolean;
  /** The opaque-tag without its double quotes. */
  readonly tag: string;
}

// etagc = %x21 / %x23-7E / obs-text (§8.8.3); node gives obs-text as latin1 characters.
const ETAGC = /^[\x21\x23-\x7e\x80-\xff]*$/;

/** Parses one entity-tag (`"xyz"` or `W/"xyz"`), or undefined when the value is not one. */
export function parseETag(value: string): EntityTag | undefined {
  const s = value.trim();
  const weak = s.startsWith('W/');
  const q = weak ? s.slice(2) : s;
  if (q.length < 2 || !q.startsWith('"') || !q.endsWith('"')) return undefined;
  const tag = q.slice(1, -1);
  return ETAGC.test(tag) ? { weak, tag } : undefined;
}

export function formatETag(etag: EntityTag): string {
  return `${etag.weak ? 'W/' : ''}"${etag.tag}"`;
}

/**
 * Parses an If-Match / If-None-Match value: `"*" / #entity-tag` (§13.1.1, §13.1.2). Returns
 * undefined when the value is malformed; callers treat that as a list that matches nothing,
 * which fails safe in both fields (If-Match → 412, If-None-Match → full response).
 * Entity-tags may contain commas, so this is a small scanner rather than a split.
 */
export function parseETagList(value: string): '*' | EntityTag[] | undefined {
  if (value.trim() === '*') return '*';
  const out: EntityTag[] = [];
  let i = 0;
  const n = value.length;
  const skipOws = (): void => { while (i < n && (value[i] === ' ' || value[i] === '\t')) i++; };
  for (;;) {
    // Empty list elements are allowed (§5.6.1).
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ',')) i++;
    if (i >= n) break;
    let weak = false;
    if (value.startsWith('W/', i)) { weak = true; i += 2; }
    if (value[i] !== '"') return undefined;
    const close = value.indexOf('"', i + 1);
    if (close < 0) return undefined;
    const tag = value.slice(i + 1, close);
    if (!ETAGC.test(tag)) return undefined;
    out.push({ weak, tag });
    i = close + 1;
    skipOws();
    if (i < n && value[i] !== ',') return undefined;
  }
  return out.length > 0 ? out : undefined;
}

/** Strong comparison (§8.8.3.2): both strong and the same opaque-tag. */
export function strongCompare(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.tag === b.tag;
}

/** Weak comparison (§8.8.3.2): the same opaque-tag, weakness ignored. */
export function weakCompare(a: EntityTag, b: EntityTag): boolean {
  return a.tag === b.tag;
}
