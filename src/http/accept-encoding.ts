// Accept-Encoding negotiation (RFC 9110 §12.5.3) for a server holding a few precompressed
// variants of a representation.

// weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§12.4.2)
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Parses Accept-Encoding into coding (lower-case) → q. Elements with a malformed coding or
 * qvalue are dropped; of duplicates the first counts. `x-gzip` is read as `gzip` (§8.4.1.3).
 */
export function parseAcceptEncoding(value: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const element of value.split(',')) {
    const [rawCoding = '', ...params] = element.split(';');
    let coding = rawCoding.trim().toLowerCase();
    if (coding === '') continue;
    if (!TOKEN.test(coding)) continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    let valid = true;
    for (const p of params) {
      const eq = p.indexOf('=');
      const name = p.slice(0, eq < 0 ? p.length : eq).trim().toLowerCase();
      const v = eq < 0 ? '' : p.slice(eq + 1).trim();
      if (name !== 'q') continue;
      if (!QVALUE.test(v)) { valid = false; break; }
      q = Number(v);
    }
    if (valid && !out.has(coding)) out.set(coding, q);
  }
  return out;
}

/**
 * Picks the content coding to send among `available` (most preferred first; used to break
 * ties), or 'identity'. The coding with the highest q > 0 wins unless identity was given a
 * strictly higher q (explicitly or through `*`).
 *
 * Without an Accept-Encoding field any coding is acceptable (§12.5.3), but a client that
 * sends none (curl, scripts) usually cannot decode one, so it gets identity. Identity is
 * also sent when the client refuses it and nothing else fits: §12.5.3 allows 406 there,
 * but an uncompressed answer is more useful.
 */
export function negotiateEncoding(value: string | undefined, available: readonly string[]): string {
  if (value === undefined) return 'identity';
  const accepted = parseAcceptEncoding(value);
  const star = accepted.get('*');
  let best: string | undefined;
  let bestQ = 0;
  for (const coding of available) {
    const q = accepted.get(coding) ?? star ?? 0;
    if (q > bestQ) { best = coding; bestQ = q; }
  }
  if (best === undefined) return 'identity';
  const identityQ = accepted.get('identity') ?? star;
  return identityQ !== undefined && identityQ > bestQ ? 'identity' : best;
}
