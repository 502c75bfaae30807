// The readiness contract between the node's admin plane and the sidecar, as one pure
// function. GET /readyz answers
//   { "ready": bool, "state": "ready"|"overloaded"|"draining"|"disabled"|"failing", "reasons": [] }
// with 200 for ready and overloaded, 503 for the others.
//
// Anything the contract does not promise counts as a failure: the sidecar fails closed, so a
// half-broken admin plane (wrong status for its state, HTML error page, unknown state) can
// never keep a route announced.

/** What one probe tells the state machine. */
export type HealthSignal =
  /** Serving normally: count towards rise. */
  | 'healthy'
  /** Serving, but wants less traffic: announce with the AS path prepended. */
  | 'overloaded'
  /** Planned (draining, maintenance): withdraw now, without waiting for fall. */
  | 'disabled'
  /** Anything else, including timeouts and refused connections: count towards fall. */
  | 'failure';

/** The `result` label of anyedge_sidecar_probes_total (bounded). */
export type ProbeResultLabel = 'ready' | 'overloaded' | 'not_ready' | 'error';

export type ReadinessState = 'ready' | 'overloaded' | 'draining' | 'disabled' | 'failing';
const READINESS_STATES: ReadonlySet<string> = new Set<ReadinessState>(['ready', 'overloaded', 'draining', 'disabled', 'failing']);

export interface ProbeResult {
  signal: HealthSignal;
  result: ProbeResultLabel;
  /** One line for logs: why this signal. */
  detail: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** The readiness state the node reported. */
  state?: string;
  reasons?: string[];
  /** Network error code (ECONNREFUSED, TIMEOUT, …) when no response arrived. */
  error?: string;
  /** Probe duration in milliseconds. */
  ms?: number;
}

/** Maps one /readyz response (status + body text) to a signal. */
export function classifyReadiness(status: number, body: string): ProbeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { signal: 'failure', result: 'error', status, detail: `HTTP ${status} with a body that is not JSON` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { signal: 'failure', result: 'error', status, detail: `HTTP ${status} with JSON that is not an object` };
  }
  const obj = parsed as Record<string, unknown>;
  const state = typeof obj['state'] === 'string' ? obj['state'] : undefined;
  const reasons = Array.isArray(obj['reasons']) ? obj['reasons'].filter((r): r is string => typeof r === 'string') : [];
  const base = { status, reasons, ...(state === undefined ? {} : { state }) };
  const because = reasons.length ? ` (${reasons.join('; ')})` : '';

  if (state === undefined || !READINESS_STATES.has(state)) {
    return { ...base, signal: 'failure', result: 'error', detail: `HTTP ${status} with unknown readiness state ${JSON.stringify(obj['state'])}` };
  }
  switch (state as ReadinessState) {
    case 'ready':
    case 'overloaded':
      // Both promise 200 and ready:true; a node that contradicts itself is not trusted.
      if (status !== 200 || obj['ready'] !== true) {
        return { ...base, signal: 'failure', result: 'error', detail: `readiness "${state}" with HTTP ${status} and ready=${String(obj['ready'])}: contradicts the contract` };
      }
      return state === 'ready'
        ? { ...base, signal: 'healthy', result: 'ready', detail: `ready${because}` }
        : { ...base, signal: 'overloaded', result: 'overloaded', detail: `overloaded${because}` };
    case 'draining':
    case 'disabled':
      // Planned: withdraw whatever the status code says; withdrawing is always safe.
      return { ...base, signal: 'disabled', result: 'not_ready', detail: `${state}${because}` };
    case 'failing':
      return { ...base, signal: 'failure', result: 'not_ready', detail: `failing${because}` };
  }
}
