// The sidecar's loop: probe /readyz → state machine → dampening → route. One Sidecar per
// process; runSidecar (run-sidecar.ts) drives it with timers, signals and the speaker.
//
// Every decision acts on change and is logged with its reason and the probe's values.
import type { DampeningConfig, SidecarConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SidecarMetrics } from '../metrics.js';
import type { Now } from './clock.js';
import { initialDampening, recordFlap, releaseDelay, updateDampening, type DampeningState, type DampeningUpdate } from './dampening.js';
import type { RouteDriver } from './drivers/route-driver.js';
import { INITIAL_FSM, SIDECAR_STATES, exitFsm, intentFor, isFlap, isPending, stepFsm, type FsmSnapshot, type FsmStep, type RouteIntent, type SidecarState } from './fsm.js';
import type { Probe } from './probe.js';
import type { ProbeResult } from './readiness.js';

export interface SidecarDeps {
  probe: Probe;
  driver: RouteDriver;
  log: Logger;
  metrics: SidecarMetrics;
  now: Now;
}

export type SidecarTiming = Pick<SidecarConfig, 'interval' | 'fastInterval' | 'rise' | 'fall'> & { dampening: DampeningConfig };

export class Sidecar {
  readonly #cfg: SidecarTiming;
  readonly #d: SidecarDeps;
  #fsm: FsmSnapshot = INITIAL_FSM;
  #damp: DampeningState;
  /** What the speaker was last told successfully; undefined = unknown, apply on next chance. */
  #applied: RouteIntent | undefined;
  #lastProbe: ProbeResult | undefined;

  constructor(cfg: SidecarTiming, deps: SidecarDeps) {
    this.#cfg = cfg;
    this.#d = deps;
    this.#damp = initialDampening(deps.now());
  }

  get state(): SidecarState { return this.#fsm.state; }
  get dampening(): DampeningState { return this.#damp; }
  get applied(): RouteIntent | undefined { return this.#applied; }
  get lastProbe(): ProbeResult | undefined { return this.#lastProbe; }

  /** The route as the state machine asks for it, after dampening. */
  get desired(): RouteIntent {
    const intent = intentFor(this.#fsm);
    return intent !== 'withdraw' && this.#damp.suppressed ? 'withdraw' : intent;
  }

  /**
   * Withdraws before the first probe: a previous run (crashed, respawned by ExaBGP, restarted
   * by systemd) may have left a route announced that this run knows nothing about.
   */
  async start(): Promise<void> {
    this.#publishState(this.#d.now());
    await this.#d.driver.start();
    await this.#reconcile('startup: withdraw anything a previous run left announced');
  }

  /** One probe and what follows from it. */
  async tick(signal?: AbortSignal): Promise<void> {
    const result = await this.#d.probe(signal);
    if (signal?.aborted) return;
    await this.observe(result);
  }

  /** Feeds one probe result (exposed so tests can script results without HTTP). */
  async observe(result: ProbeResult): Promise<void> {
    const now = this.#d.now();
    const m = this.#d.metrics;
    this.#lastProbe = result;
    m.probes.inc({ result: result.result });

    const step = stepFsm(this.#fsm, result.signal, this.#cfg, result.detail);
    this.#fsm = step.next;
    let reason = step.reason;
    if (step.changed) {
      if (isFlap(step)) this.#onDampening(recordFlap(this.#damp, now, this.#cfg.dampening), now);
      this.#logTransition(step, result);
      this.#publishState(now);
    } else {
      this.#d.log.debug({ state: step.next.state, count: step.next.count, probe: probeFields(result) }, step.reason);
    }
    const released = this.#onDampening(updateDampening(this.#damp, now, this.#cfg.dampening), now);
    if (released) reason = released;
    await this.#reconcile(reason);
  }

  /** Delay before the next probe: fast while a transition is pending. */
  nextDelay(): number {
    const base = isPending(this.#fsm.state) ? this.#cfg.fastInterval : this.#cfg.interval;
    const release = releaseDelay(this.#damp, this.#d.now(), this.#cfg.dampening);
    return release === undefined ? base : Math.max(1, Math.min(base, release));
  }

  /** Says the current route again (a peer session may have reset), or retries a failed apply. */
  async refresh(): Promise<void> {
    if (this.#applied === undefined) return this.#reconcile('retry after a failed route change');
    try {
      await this.#d.driver.refresh(this.#applied);
      this.#d.log.debug({ route: this.#applied }, 'route refreshed');
    } catch (err) {
      this.#d.log.warn({ err, route: this.#applied }, 'route refresh failed');
    }
  }

  /** EXIT: withdraw, then release the speaker. */
  async stop(reason: string): Promise<void> {
    const step = exitFsm(this.#fsm, reason);
    this.#fsm = step.next;
    if (step.changed) {
      this.#logTransition(step, undefined);
      this.#publishState(this.#d.now());
    }
    this.#applied = undefined; // withdraw even if we believe it is withdrawn: we are leaving
    await this.#reconcile(`exit: ${reason}`, true);
    await this.#d.driver.close();
  }

  /** Brings the speaker in line with `desired`; idempotent, retried on the next tick on error. */
  async #reconcile(reason: string, final = false): Promise<void> {
    const want = this.desired;
    if (want === this.#applied) return;
    const m = this.#d.metrics;
    try {
      const res = await this.#d.driver.apply(want);
      this.#applied = want;
      if (res.changed) {
        if (want === 'withdraw') m.withdrawals.inc();
        else m.announcements.inc({ kind: want === 'announce' ? 'plain' : 'prepended' });
      }
      this.#d.log.info(
        { route: want, changed: res.changed, speaker: this.#d.driver.name, detail: res.detail, state: this.#fsm.state, suppressed: this.#damp.suppressed },
        `${want}: ${reason}`,
      );
    } catch (err) {
      this.#applied = undefined;
      this.#d.log.error({ err, route: want, speaker: this.#d.driver.name }, final ? `could not ${want} on exit` : `could not ${want}; will retry`);
    }
  }

  /** Applies a dampening update; returns a reason when it released the route. */
  #onDampening(u: DampeningUpdate, now: number): string | undefined {
    this.#damp = u.next;
    const m = this.#d.metrics;
    m.penalty.set(Math.round(u.next.penalty));
    m.suppressed.set(u.next.suppressed ? 1 : 0);
    const c = this.#cfg.dampening;
    const penalty = Math.round(u.next.penalty);
    if (u.event === 'suppressed') {
      const releaseIn = releaseDelay(u.next, now, c);
      this.#d.log.warn({ penalty, suppress: c.suppress, reuse: c.reuse, releaseInMs: releaseIn }, `flapping: route suppressed by dampening (penalty ${penalty} ≥ ${c.suppress})`);
    } else if (u.event === 'released') {
      const why = `dampening released the route (penalty ${penalty} < reuse ${c.reuse} or held ${c.maxSuppress}ms)`;
      this.#d.log.info({ penalty, reuse: c.reuse }, why);
      return why;
    }
    return undefined;
  }

  #logTransition(step: FsmStep, probe: ProbeResult | undefined): void {
    const held = this.#damp.suppressed && intentFor(step.next) !== 'withdraw';
    this.#d.log.info(
      {
        event: 'transition',
        from: step.from,
        to: step.next.state,
        reason: step.reason,
        ...(probe ? { probe: probeFields(probe) } : {}),
        penalty: Math.round(this.#damp.penalty),
        suppressed: this.#damp.suppressed,
      },
      `${step.from} → ${step.next.state}: ${step.reason}${held ? ' (route held back by dampening)' : ''}`,
    );
  }

  #publishState(now: number): void {
    for (const s of SIDECAR_STATES) this.#d.metrics.state.set({ state: s }, s === this.#fsm.state ? 1 : 0);
    this.#d.metrics.lastTransition.set(now / 1000);
  }
}

function probeFields(p: ProbeResult): Record<string, unknown> {
  return {
    signal: p.signal,
    result: p.result,
    ...(p.status === undefined ? {} : { status: p.status }),
    ...(p.state === undefined ? {} : { state: p.state }),
    ...(p.reasons === undefined || p.reasons.length === 0 ? {} : { reasons: p.reasons }),
    ...(p.error === undefined ? {} : { error: p.error }),
    ...(p.ms === undefined ? {} : { ms: p.ms }),
  };
}
