// Health → route as a small state machine, after ExaBGP's healthcheck and
// anycast-healthchecker: rise/fall counts give hysteresis, so one lost probe does not
// withdraw a route and one good probe does not announce it.
//
//   INIT, DOWN, DISABLED ─ok─▶ RISING ─(rise oks)─▶ UP, or OVERLOADED if the last probe said so
//   INIT, RISING ─fail─▶ DOWN                   (not announced: nothing to hold)
//   UP ⇄ OVERLOADED                             (at once: both announce, one prepended)
//   UP, OVERLOADED ─fail─▶ FALLING ─(fall fails)─▶ DOWN;  FALLING ─ok─▶ UP / OVERLOADED
//   any ─draining/disabled─▶ DISABLED           (withdraw at once: planned, no fall count)
//   any ─SIGTERM/SIGINT/speaker gone─▶ EXIT     (withdraw, then the process exits)
//
// Pure: the caller feeds signals and gets the next snapshot back with a reason to log.
import type { HealthSignal } from './readiness.js';

export type SidecarState = 'INIT' | 'RISING' | 'UP' | 'FALLING' | 'DOWN' | 'OVERLOADED' | 'DISABLED' | 'EXIT';
export const SIDECAR_STATES: readonly SidecarState[] = ['INIT', 'RISING', 'UP', 'FALLING', 'DOWN', 'OVERLOADED', 'DISABLED', 'EXIT'];

/** What the route should be for a state, before dampening has its say. */
export type RouteIntent = 'withdraw' | 'announce' | 'announce-prepended';

export interface FsmSnapshot {
  readonly state: SidecarState;
  /** Consecutive successes (RISING) or failures (FALLING) so far; 0 elsewhere. */
  readonly count: number;
  /** FALLING keeps announcing what it announced before it started to fall. */
  readonly holding: 'UP' | 'OVERLOADED' | undefined;
}

export interface FsmThresholds {
  rise: number;
  fall: number;
}

export interface FsmStep {
  readonly from: SidecarState;
  readonly next: FsmSnapshot;
  /** True when the state changed (a transition to log and count). */
  readonly changed: boolean;
  readonly reason: string;
}

export const INITIAL_FSM: FsmSnapshot = Object.freeze({ state: 'INIT', count: 0, holding: undefined });

const at = (state: SidecarState, count = 0, holding?: 'UP' | 'OVERLOADED'): FsmSnapshot => ({ state, count, holding });

/** Feeds one probe's signal to the machine. `detail` is the probe's own explanation. */
export function stepFsm(fsm: FsmSnapshot, signal: HealthSignal, t: FsmThresholds, detail: string = signal): FsmStep {
  const from = fsm.state;
  const go = (next: FsmSnapshot, reason: string): FsmStep => ({ from, next, changed: next.state !== from, reason });
  if (from === 'EXIT') return go(fsm, 'exiting: signals are ignored');

  if (signal === 'disabled') {
    return go(at('DISABLED'), from === 'DISABLED' ? `still disabled: ${detail}` : `planned withdrawal: ${detail}`);
  }

  const ok = signal === 'healthy' || signal === 'overloaded';
  const serving = signal === 'overloaded' ? 'OVERLOADED' : 'UP';

  switch (from) {
    case 'INIT':
    case 'DOWN':
    case 'DISABLED':
      if (!ok) return go(at('DOWN'), from === 'DOWN' ? `still failing: ${detail}` : `probe failed: ${detail}`);
      if (t.rise <= 1) return go(at(serving), `probe ok 1/1 (rise): ${detail}`);
      return go(at('RISING', 1), `probe ok 1/${t.rise} (rise): ${detail}`);
    case 'RISING':
      if (!ok) return go(at('DOWN'), `probe failed while rising after ${fsm.count}/${t.rise} ok: ${detail}`);
      if (fsm.count + 1 >= t.rise) return go(at(serving), `probe ok ${t.rise}/${t.rise} (rise): ${detail}`);
      return go(at('RISING', fsm.count + 1), `probe ok ${fsm.count + 1}/${t.rise} (rise): ${detail}`);
    case 'UP':
    case 'OVERLOADED':
      if (ok) return go(at(serving), serving === from ? detail : `now ${signal}: ${detail}`);
      if (t.fall <= 1) return go(at('DOWN'), `probe failed 1/1 (fall): ${detail}`);
      return go(at('FALLING', 1, from), `probe failed 1/${t.fall} (fall): ${detail}`);
    case 'FALLING':
      if (ok) return go(at(serving), `recovered after ${fsm.count}/${t.fall} failed probes: ${detail}`);
      if (fsm.count + 1 >= t.fall) return go(at('DOWN'), `probe failed ${t.fall}/${t.fall} (fall): ${detail}`);
      return go(at('FALLING', fsm.count + 1, fsm.holding), `probe failed ${fsm.count + 1}/${t.fall} (fall): ${detail}`);
  }
}

/** SIGTERM, SIGINT, or the speaker went away. */
export function exitFsm(fsm: FsmSnapshot, reason: string): FsmStep {
  return { from: fsm.state, next: at('EXIT'), changed: fsm.state !== 'EXIT', reason };
}

/** The route a state asks for. FALLING still announces: that is the point of a fall count. */
export function intentFor(fsm: FsmSnapshot): RouteIntent {
  switch (fsm.state) {
    case 'UP':
      return 'announce';
    case 'OVERLOADED':
      return 'announce-prepended';
    case 'FALLING':
      return fsm.holding === 'OVERLOADED' ? 'announce-prepended' : 'announce';
    case 'INIT':
    case 'RISING':
    case 'DOWN':
    case 'DISABLED':
    case 'EXIT':
      return 'withdraw';
  }
}

/** States in which a transition is pending, probed at the fast interval. */
export function isPending(state: SidecarState): boolean {
  return state === 'INIT' || state === 'RISING' || state === 'FALLING';
}

/**
 * A flap, for dampening: the node was serving (announced) and is now DOWN. Planned
 * withdrawals (DISABLED) and exits are not flaps: an operator draining a node is not unstable.
 */
export function isFlap(step: FsmStep): boolean {
  return step.changed && step.next.state === 'DOWN' && (step.from === 'UP' || step.from === 'OVERLOADED' || step.from === 'FALLING');
}
