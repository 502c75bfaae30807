import { describe, expect, it } from 'vitest';
import { decayPenalty, initialDampening, penaltyCeiling, recordFlap, releaseDelay, updateDampening, type DampeningState } from '../../src/bgp/dampening.js';
import { dampeningSchema } from '../../src/config/schema.js';

const cfg = dampeningSchema.parse({ penalty: 1000, halfLife: '60s', suppress: 2000, reuse: 750, maxSuppress: '5m' });

describe('flap dampening (RFC 2439)', () => {
  it.each([
    [1000, 0, 1000],
    [1000, 60_000, 500],
    [1000, 120_000, 250],
    [3000, 30_000, 3000 / Math.SQRT2],
  ])('penalty %d decays over %dms to %d', (p, dt, want) => {
    expect(decayPenalty(p, dt, 60_000)).toBeCloseTo(want, 6);
  });

  it('suppresses on the flap that crosses the threshold, not before', () => {
    let s = initialDampening(0);
    s = recordFlap(s, 0, cfg).next;
    expect(s).toMatchObject({ penalty: 1000, suppressed: false });
    const second = recordFlap(s, 1000, cfg);
    // 1000 decayed for 1 s + 1000 is just below 2000.
    expect(second.next.suppressed).toBe(false);
    const third = recordFlap(second.next, 2000, cfg);
    expect(third.event).toBe('suppressed');
    expect(third.next.suppressed).toBe(true);
    expect(third.next.penalty).toBeGreaterThan(2900);
  });

  it('releases once the penalty decays below reuse, and says when that will be', () => {
    let s: DampeningState = { penalty: 3000, at: 0, suppressed: true, lastFlapAt: 0 };
    const delay = releaseDelay(s, 0, cfg);
    // 3000 → 750 is two half-lives.
    expect(delay).toBe(120_001);
    const before = updateDampening(s, 119_000, cfg);
    expect(before.event).toBeUndefined();
    expect(before.next.suppressed).toBe(true);
    s = before.next;
    const after = updateDampening(s, 120_001, cfg);
    expect(after.event).toBe('released');
    expect(after.next.suppressed).toBe(false);
    expect(after.next.penalty).toBeLessThan(750);
  });

  it('a stable route is never suppressed however long it runs', () => {
    let s = recordFlap(initialDampening(0), 0, cfg).next;
    for (let t = 0; t <= 3_600_000; t += 60_000) {
      const u = updateDampening(s, t, cfg);
      expect(u.event).toBeUndefined();
      s = u.next;
    }
    expect(s.suppressed).toBe(false);
    expect(s.penalty).toBeLessThan(1);
  });

  it('caps the penalty so that the hold-down never exceeds maxSuppress after the last flap', () => {
    expect(penaltyCeiling(cfg)).toBe(750 * 2 ** 5);
    let s = initialDampening(0);
    // A crash loop: a flap every second for ten minutes.
    for (let t = 0; t < 600_000; t += 1000) s = recordFlap(s, t, cfg).next;
    expect(s.penalty).toBeLessThanOrEqual(penaltyCeiling(cfg));
    const last = 599_000;
    expect(updateDampening(s, last + cfg.maxSuppress - 1000, cfg).next.suppressed).toBe(true);
    const u = updateDampening(s, last + cfg.maxSuppress, cfg);
    expect(u.event).toBe('released');
    expect(releaseDelay(s, last, cfg)).toBeLessThanOrEqual(cfg.maxSuppress);
  });

  it('does nothing when disabled', () => {
    const off = { ...cfg, enabled: false };
    let s = initialDampening(0);
    for (let t = 0; t < 10_000; t += 100) {
      const u = recordFlap(s, t, off);
      expect(u.event).toBeUndefined();
      s = u.next;
    }
    expect(s).toMatchObject({ penalty: 0, suppressed: false });
    expect(updateDampening({ penalty: 5000, at: 0, suppressed: true, lastFlapAt: 0 }, 1, off).event).toBe('released');
  });
});
