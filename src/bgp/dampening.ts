// Route flap dampening on top of rise/fall, after RFC 2439 ("BGP Route Flap Damping"):
// rise/fall stop one bad probe from moving a route; dampening stops a node that keeps
// coming and going (crash loop, flapping origin) from dragging clients back and forth
// every few seconds. Pure functions over an explicit state and an explicit `now`.
import type { DampeningConfig } from '../config/schema.js';

export interface DampeningState {
  /** Figure of merit (RFC 2439 §2.2) as of `at`. */
  readonly penalty: number;
  /** Time `penalty` was computed, ms since the epoch. */
  readonly at: number;
  readonly suppressed: boolean;
  /** Time of the last flap; bounds the hold-down by maxSuppress. */
  readonly lastFlapAt: number | undefined;
}

export interface DampeningUpdate {
  readonly next: DampeningState;
  /** Set when this update suppressed or released the route. */
  readonly event: 'suppressed' | 'released' | undefined;
}

export function initialDampening(now: number): DampeningState {
  return { penalty: 0, at: now, suppressed: false, lastFlapAt: undefined };
}

/** Exponential decay with the configured half-life (RFC 2439 §4.2, "decay-array" in closed form). */
export function decayPenalty(penalty: number, elapsedMs: number, halfLife: number): number {
  if (elapsedMs <= 0 || penalty === 0) return penalty;
  if (halfLife <= 0) return 0;
  return penalty * 2 ** (-elapsedMs / halfLife);
}

/**
 * The highest penalty kept (RFC 2439 §4.2, "maximum penalty"): a penalty at the ceiling
 * decays to the reuse threshold in exactly maxSuppress, so no amount of flapping holds a
 * route down for longer than that after the last flap.
 */
export function penaltyCeiling(cfg: DampeningConfig): number {
  if (cfg.halfLife <= 0) return cfg.reuse;
  return cfg.reuse * 2 ** (cfg.maxSuppress / cfg.halfLife);
}

/** The route flapped (went from announced to withdrawn because the node failed). */
export function recordFlap(s: DampeningState, now: number, cfg: DampeningConfig): DampeningUpdate {
  if (!cfg.enabled) return { next: initialDampening(now), event: undefined };
  const penalty = Math.min(decayPenalty(s.penalty, now - s.at, cfg.halfLife) + cfg.penalty, penaltyCeiling(cfg));
  const suppress = !s.suppressed && penalty >= cfg.suppress;
  return {
    next: { penalty, at: now, suppressed: s.suppressed || suppress, lastFlapAt: now },
    event: suppress ? 'suppressed' : undefined,
  };
}

/** Decays the penalty to `now` and releases a suppressed route once it is below reuse. */
export function updateDampening(s: DampeningState, now: number, cfg: DampeningConfig): DampeningUpdate {
  if (!cfg.enabled) return { next: s.penalty === 0 && !s.suppressed ? s : initialDampening(now), event: s.suppressed ? 'released' : undefined };
  const penalty = decayPenalty(s.penalty, now - s.at, cfg.halfLife);
  const heldTooLong = s.lastFlapAt !== undefined && now - s.lastFlapAt >= cfg.maxSuppress;
  const release = s.suppressed && (penalty < cfg.reuse || heldTooLong);
  return {
    next: { penalty, at: now, suppressed: s.suppressed && !release, lastFlapAt: s.lastFlapAt },
    event: release ? 'released' : undefined,
  };
}

/** Milliseconds until a suppressed route is released if it stays stable; undefined when not suppressed. */
export function releaseDelay(s: DampeningState, now: number, cfg: DampeningConfig): number | undefined {
  if (!s.suppressed) return undefined;
  const penalty = decayPenalty(s.penalty, now - s.at, cfg.halfLife);
  // +1: the release needs the penalty strictly below reuse.
  const byDecay = penalty < cfg.reuse ? 0 : Math.floor(cfg.halfLife * Math.log2(penalty / cfg.reuse)) + 1;
  const byHold = s.lastFlapAt === undefined ? byDecay : Math.max(0, s.lastFlapAt + cfg.maxSuppress - now);
  return Math.min(byDecay, byHold);
}
