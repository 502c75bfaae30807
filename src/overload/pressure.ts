// Pure pieces of the overload decision: signal → pressure, pressure → action on/off.

/** `overload.<monitor>` thresholds. */
export interface Thresholds {
  low: number;
  high: number;
}

/**
 * Pressure 0..1 for a signal: 0 at or below `low`, 1 at or above `high`, linear between.
 * A value that is not a number (NaN) yields NaN, which the caller handles (it keeps the
 * previous pressure rather than inventing 0 or 1).
 */
export function pressureOf(value: number, t: Thresholds): number {
  if (Number.isNaN(value)) return Number.NaN;
  if (value <= t.low) return 0;
  if (value >= t.high) return 1;
  return (value - t.low) / (t.high - t.low);
}

/**
 * Hysteresis for one named action: it starts when pressure reaches `start` and stops only
 * once pressure falls below `start - hysteresis`, so a pressure hovering at the threshold
 * does not switch the action on and off every interval.
 */
export function nextActive(active: boolean, pressure: number, start: number, hysteresis: number): boolean {
  return active ? pressure >= start - hysteresis : pressure >= start;
}
