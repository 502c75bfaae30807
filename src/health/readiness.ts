// Readiness of the node = f(draining, maintenance, workers, origins, overload). A pure
// function: the supervisor gathers the inputs, calls it on every /readyz and whenever an
// input changes, and the sidecar turns the answer into a route (announce, prepend, withdraw).
//
// Precedence (the first that applies is the state):
//   draining    shutdown or /drain started: the route must go away first, whatever else holds.
//   disabled    the maintenance file is present (an operator's decision beats measurements).
//   failing     no worker alive; or every actively checked origin is down; or a worker's
//               overload manager reports 'failing'. The node cannot serve: withdraw.
//   overloaded  a worker reports 'overloaded'; or fewer than half the expected workers are
//               alive. The node still serves: de-prefer (prepend), do not withdraw.
//   ready
// httpStatus is 200 for ready and overloaded (the node serves), 503 otherwise; `ready`
// mirrors it. The sidecar tells ready from overloaded by `state`.
//
// Partial origin failure does not change the state: the pool skips a down origin while
// another is up, so one down origin of several costs no request. It is listed in `reasons`.
// "Every origin down" counts only origins with active checks: the supervisor passes an empty
// list when checks are off (healthCheck.path ""), and an empty list never means failing.
// `hasOrigins` is false for a node serving only static files and cache; origins are then ignored.
//
// `reasons` lists every finding, highest precedence first, so /readyz shows all that is
// wrong even when one thing decides the state; for 'ready' it holds only degradations.

export const READINESS_STATES = ['ready', 'overloaded', 'draining', 'disabled', 'failing'] as const;
export type ReadinessState = (typeof READINESS_STATES)[number];

export interface MaintenanceStatus {
  active: boolean;
  /** Epoch milliseconds after which the maintenance file is ignored. */
  until?: number;
  /** Why: the file's note, or the problem reading it. */
  reason?: string;
}

export interface ReadinessInput {
  workersAlive: number;
  workersExpected: number;
  /** Origins under active health checks, as the checker sees them now. */
  origins: ReadonlyArray<{ url: string; up: boolean }>;
  /** Worst level reported by any worker's overload manager. */
  overload: 'ok' | 'overloaded' | 'failing';
  draining: boolean;
  maintenance: MaintenanceStatus;
  /** Some host forwards to an origin. */
  hasOrigins: boolean;
}

export interface Readiness {
  ready: boolean;
  state: ReadinessState;
  httpStatus: 200 | 503;
  reasons: string[];
}

export function computeReadiness(input: ReadinessInput): Readiness {
  const draining: string[] = [];
  const disabled: string[] = [];
  const failing: string[] = [];
  const overloaded: string[] = [];
  const notes: string[] = [];

  if (input.draining) draining.push('draining: the node is shutting down or was asked to drain');

  if (input.maintenance.active) {
    const until = input.maintenance.until === undefined ? '' : ` until ${new Date(input.maintenance.until).toISOString()}`;
    const why = input.maintenance.reason === undefined || input.maintenance.reason === '' ? '' : `: ${input.maintenance.reason}`;
    disabled.push(`maintenance${until}${why}`);
  }

  const { workersAlive: alive, workersExpected: expected } = input;
  if (expected > 0 && alive <= 0) failing.push(`no worker alive (0 of ${expected})`);
  else if (alive * 2 < expected) overloaded.push(`only ${alive} of ${expected} workers alive`);
  else if (alive < expected) notes.push(`${alive} of ${expected} workers alive`);

  if (input.hasOrigins && input.origins.length > 0) {
    const down = input.origins.filter((o) => !o.up);
    if (down.length === input.origins.length) {
      failing.push(`every origin is down: ${down.map((o) => o.url).join(', ')}`);
    } else if (down.length > 0) {
      notes.push(`origin down: ${down.map((o) => o.url).join(', ')} (${input.origins.length - down.length} of ${input.origins.length} up)`);
    }
  }

  if (input.overload === 'failing') failing.push('overload: a worker reports failing');
  else if (input.overload === 'overloaded') overloaded.push('overload: a worker reports overloaded');

  const reasons = [...draining, ...disabled, ...failing, ...overloaded, ...notes];
  const state: ReadinessState =
    draining.length > 0 ? 'draining'
      : disabled.length > 0 ? 'disabled'
        : failing.length > 0 ? 'failing'
          : overloaded.length > 0 ? 'overloaded'
            : 'ready';
  const serving = state === 'ready' || state === 'overloaded';
  return { ready: serving, state, httpStatus: serving ? 200 : 503, reasons };
}
