// The Cache-Status field (RFC 9211): one list member for this cache, named by the node.
//   anyedge; hit; ttl=42                          fresh hit (§2.1, §2.7)
//   anyedge; hit; ttl=-3; detail=stale-while-revalidate
//   anyedge; fwd=miss; stored                     forwarded, stored (§2.2, §2.5)
//   anyedge; fwd=stale; fwd-status=304; stored    revalidated (§2.3)
//   anyedge; fwd=miss; collapsed                  answered by another request's fetch (§2.6)
//   anyedge; fwd=bypass                           not looked up (§2.2)

/** §2.2 fwd values used here. */
export type ForwardReason = 'bypass' | 'method' | 'miss' | 'vary-miss' | 'stale' | 'request';

/** A fresh or stale hit: `name; hit; ttl=N[; detail=D]`. */
export function hitStatus(name: string, ttlSeconds: number, detail?: string): string {
  return detail === undefined ? `${name}; hit; ttl=${ttlSeconds}` : `${name}; hit; ttl=${ttlSeconds}; detail=${detail}`;
}

export interface ForwardStatus {
  fwd: ForwardReason;
  /** §2.3: the status the next hop answered, when it differs in meaning from ours (304, 5xx). */
  fwdStatus?: number | undefined;
  /** §2.5: the response (or an update of it) was stored. */
  stored?: boolean | undefined;
  /** §2.6: this request was collapsed into another's. */
  collapsed?: boolean | undefined;
  /** §2.7: remaining freshness of what was served from storage, seconds. */
  ttl?: number | undefined;
  /** §2.9: a short token, e.g. why the response was not stored. */
  detail?: string | undefined;
}

export function forwardStatus(name: string, s: ForwardStatus): string {
  let v = `${name}; fwd=${s.fwd}`;
  if (s.fwdStatus !== undefined) v += `; fwd-status=${s.fwdStatus}`;
  if (s.stored) v += '; stored';
  if (s.collapsed) v += '; collapsed';
  if (s.ttl !== undefined) v += `; ttl=${s.ttl}`;
  if (s.detail !== undefined) v += `; detail=${s.detail}`;
  return v;
}

/** Neither hit nor forwarded (only-if-cached without a usable stored response). */
export function detailStatus(name: string, detail: string): string {
  return `${name}; detail=${detail}`;
}
