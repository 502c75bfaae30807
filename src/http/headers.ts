// Small helpers for header maps as Node gives them (lower-case names; a repeated field is
// an array, except the few Node joins itself). Shared by the static site and the cache.

/** A header map as node:http / node:http2 give it. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/**
 * A field's value as one string, or undefined when absent. Repeated lines are joined with
 * ", ", which is the same field value for list-based fields (RFC 9110 §5.3).
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.length === 0 ? undefined : v.join(', ');
}

/**
 * How many field lines carried this field (0 when absent). Singleton fields such as
 * If-Modified-Since must be ignored when sent more than once (RFC 9110 §13.1.3).
 */
export function headerLineCount(headers: HeaderMap, name: string): number {
  const v = headers[name.toLowerCase()];
  return v === undefined ? 0 : typeof v === 'string' ? 1 : v.length;
}

/**
 * Splits a list-based field value on commas, trimming OWS and dropping empty elements, as
 * a recipient must accept them (RFC 9110 §5.6.1). Not for values whose elements may
 * contain commas themselves (entity-tags, quoted strings, HTTP-dates).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}
