// The "bird" speaker: BIRD 2 holds the anycast prefix in two static protocols that start
// `disabled` (see deploy/bird/edge.conf):
//   <protocol>          plain announcement
//   <protocol>_prepend  same prefix; the BGP export filter prepends our AS to its routes
// Announcing is enabling one and disabling the other (make-before-break: the new one is
// enabled first, so BGP replaces the route rather than withdrawing it in between);
// withdrawing is disabling both. BIRD's own answers ("already enabled") say whether
// anything changed.
//
// Fail closed: when this process dies, systemd's ExecStopPost disables both protocols
// (deploy/systemd/anyedge-sidecar.service). When BIRD restarts, the protocols come back
// disabled from its config and the next refresh announces again.
import type { Logger } from '../../log.js';
import type { RouteIntent } from '../fsm.js';
import { birdCommands, birdProtocols, isBirdError, type BirdReply } from './bird-control.js';
import type { ApplyResult, RouteDriver } from './route-driver.js';
import { SpeakerError } from './speaker-error.js';

export interface BirdDriverOptions {
  socket: string;
  protocol: string;
  /** Protocol announcing the prepended path; undefined when prepending is off. */
  prependProtocol: string | undefined;
  log: Logger;
  /** Bound on one exchange with BIRD. */
  timeout?: number;
}

// Reply codes of enable/disable (BIRD's doc/reply_codes).
const ALREADY_DISABLED = 8;
const DISABLED = 9;
const ALREADY_ENABLED = 10;
const ENABLED = 11;
const NO_PROTOCOLS_MATCH = 8003;

export class BirdDriver implements RouteDriver {
  readonly name = 'bird';
  readonly gone: Promise<string> = new Promise(() => {});
  readonly #o: BirdDriverOptions;
  /** Set once BIRD said the prepend protocol does not exist: OVERLOADED then announces plain. */
  #prependMissing = false;

  constructor(opts: BirdDriverOptions) {
    this.#o = opts;
  }

  /** Checks the protocols exist; BIRD may not be up yet, so problems are logged, not thrown. */
  async start(): Promise<void> {
    try {
      const protocols = await birdProtocols(this.#o.socket, this.#o.timeout);
      if (!protocols.has(this.#o.protocol)) {
        this.#o.log.error({ socket: this.#o.socket, protocol: this.#o.protocol, known: [...protocols.keys()] }, 'BIRD has no such protocol: nothing can be announced (see deploy/bird/edge.conf)');
      }
      if (this.#o.prependProtocol !== undefined && !protocols.has(this.#o.prependProtocol)) {
        this.#prependMissing = true;
        this.#o.log.warn({ protocol: this.#o.prependProtocol }, 'BIRD has no prepend protocol: OVERLOADED will announce without prepending');
      }
    } catch (err) {
      this.#o.log.warn({ err }, 'BIRD control socket not answering yet; will retry on the next route change');
    }
  }

  async apply(intent: RouteIntent): Promise<ApplyResult> {
    const replies = await this.#runIntent(intent);
    const changed = replies.some((r) => r.lines.some((l) => l.code === ENABLED || l.code === DISABLED));
    return { changed, detail: replies.map(summary).join('; ') };
  }

  async refresh(intent: RouteIntent): Promise<void> {
    const replies = await this.#runIntent(intent);
    if (replies.some((r) => r.lines.some((l) => l.code === ENABLED || l.code === DISABLED))) {
      // Someone (a BIRD restart, an operator) had changed it; say so, it is worth knowing.
      this.#o.log.warn({ intent, answers: replies.map(summary) }, 'BIRD did not have the expected state; restored it');
    }
  }

  async close(): Promise<void> {}

  #commands(intent: RouteIntent): string[] {
    const plain = this.#o.protocol;
    const prep = this.#prependMissing ? undefined : this.#o.prependProtocol;
    // Quoted names are patterns: a missing protocol is "8003 No protocols match", not a
    // syntax error.
    const q = (name: string): string => `"${name}"`;
    switch (intent) {
      case 'withdraw':
        return prep ? [`disable ${q(plain)}`, `disable ${q(prep)}`] : [`disable ${q(plain)}`];
      case 'announce':
        return prep ? [`enable ${q(plain)}`, `disable ${q(prep)}`] : [`enable ${q(plain)}`];
      case 'announce-prepended':
        return prep ? [`enable ${q(prep)}`, `disable ${q(plain)}`] : [`enable ${q(plain)}`];
    }
  }

  /** Runs an intent's commands; if BIRD turned out to lack the prepend protocol, again without it. */
  async #runIntent(intent: RouteIntent): Promise<BirdReply[]> {
    const knewPrepend = !this.#prependMissing;
    const replies = await this.#run(this.#commands(intent));
    if (knewPrepend && this.#prependMissing) replies.push(...(await this.#run(this.#commands(intent))));
    return replies;
  }

  async #run(commands: string[]): Promise<BirdReply[]> {
    const replies = await birdCommands(this.#o.socket, commands, this.#o.timeout);
    for (const r of replies) {
      if (!isBirdError(r.final)) continue;
      const missingPrepend = r.final === NO_PROTOCOLS_MATCH && this.#o.prependProtocol !== undefined && r.command.includes(`"${this.#o.prependProtocol}"`);
      if (missingPrepend) {
        this.#prependMissing = true;
        this.#o.log.warn({ protocol: this.#o.prependProtocol }, 'BIRD has no prepend protocol: OVERLOADED will announce without prepending');
        continue;
      }
      throw new SpeakerError('bird', `refused: ${summary(r)}`);
    }
    return replies;
  }
}

function summary(r: BirdReply): string {
  const text = r.lines.map((l) => l.text.trim()).filter(Boolean).join(' ');
  const codes = r.lines.map((l) => l.code).filter((c) => c === ALREADY_DISABLED || c === DISABLED || c === ALREADY_ENABLED || c === ENABLED || isBirdError(c));
  return `${r.command} → ${codes.map((c) => String(c).padStart(4, '0')).join(',')} ${text}`.trim();
}
