// The "exabgp" speaker: the sidecar runs as ExaBGP's API process (`process … { run …; }`).
// Commands go to ExaBGP on our stdout, one per line:
//   announce route 192.0.2.1/32 next-hop self
//   announce route 192.0.2.1/32 next-hop self as-path [ 65001 65001 65001 65001 ]
//   withdraw route 192.0.2.1/32 next-hop self
// ExaBGP answers each with "done" or "error" on our stdin when exabgp.api.ack=true, and
// writes JSON messages there too (neighbour state changes with `neighbor-changes`).
//
// ExaBGP sends an explicit as-path as given: the prepended path is our AS (prepend + 1)
// times. Our AS comes from --local-as or, failing that, from ExaBGP's neighbour messages.
//
// Fail closed: ExaBGP respawns a dead API process, and the new sidecar withdraws on start
// (INIT); past ExaBGP's death limit (5 respawns within ~64 s) ExaBGP exits and its BGP
// sessions, and routes, go down with it. Our stdin closing means ExaBGP is gone: we exit.
// Logs must therefore never go to stdout in this mode.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../log.js';
import type { RouteIntent } from '../fsm.js';
import type { ApplyResult, RouteDriver } from './route-driver.js';
import { SpeakerError } from './speaker-error.js';

export interface ExabgpDriverOptions {
  /** ExaBGP → us (process.stdin). */
  input: Readable;
  /** Us → ExaBGP (process.stdout). */
  output: Writable;
  prefixes: readonly string[];
  nextHop: string;
  prepend: number;
  localAs: number | undefined;
  log: Logger;
  /** How long to wait for ExaBGP's "done" per command. */
  ackTimeout?: number;
}

type Ack = 'done' | 'error' | 'none';

export class ExabgpDriver implements RouteDriver {
  readonly name = 'exabgp';
  readonly gone: Promise<string>;
  readonly #o: ExabgpDriverOptions;
  #markGone!: (reason: string) => void;
  #isGone = false;
  #pending: Array<(ack: Ack) => void> = [];
  #current: RouteIntent | undefined;
  #learnedAs: number | undefined;
  #warnedNoAck = false;

  constructor(opts: ExabgpDriverOptions) {
    this.#o = opts;
    this.gone = new Promise((resolve) => {
      this.#markGone = (reason) => {
        if (this.#isGone) return;
        this.#isGone = true;
        for (const p of this.#pending.splice(0)) p('none');
        resolve(reason);
      };
    });
  }

  async start(): Promise<void> {
    const rl = createInterface({ input: this.#o.input, crlfDelay: Infinity });
    rl.on('line', (line) => this.#onLine(line.trim()));
    rl.on('close', () => this.#markGone('ExaBGP closed our stdin'));
    this.#o.output.on('error', (err: NodeJS.ErrnoException) => this.#markGone(`cannot write to ExaBGP: ${err.code ?? err.message}`));
  }

  async apply(intent: RouteIntent): Promise<ApplyResult> {
    const changed = this.#current !== intent;
    const commands = this.#commands(intent);
    await this.#send(commands);
    this.#current = intent;
    return { changed, detail: commands.join('; ') };
  }

  async refresh(intent: RouteIntent): Promise<void> {
    await this.#send(this.#commands(intent));
  }

  async close(): Promise<void> {
    for (const p of this.#pending.splice(0)) p('none');
  }

  /** The AS used for prepending: configured, else learnt from ExaBGP. */
  get localAs(): number | undefined {
    return this.#o.localAs ?? this.#learnedAs;
  }

  #commands(intent: RouteIntent): string[] {
    const nh = `next-hop ${this.#o.nextHop}`;
    if (intent === 'withdraw') return this.#o.prefixes.map((p) => `withdraw route ${p} ${nh}`);
    let path = '';
    if (intent === 'announce-prepended' && this.#o.prepend > 0) {
      const as = this.localAs;
      if (as === undefined) {
        this.#o.log.warn('local AS unknown (no --local-as, no neighbour message from ExaBGP yet): announcing without prepends');
      } else {
        path = ` as-path [ ${Array.from({ length: this.#o.prepend + 1 }, () => as).join(' ')} ]`;
      }
    }
    return this.#o.prefixes.map((p) => `announce route ${p} ${nh}${path}`);
  }

  async #send(commands: string[]): Promise<void> {
    if (this.#isGone) throw new SpeakerError('exabgp', 'ExaBGP is gone');
    const timeout = this.#o.ackTimeout ?? 2000;
    const acks = commands.map((cmd) => {
      const ack = new Promise<Ack>((resolve) => {
        const timer = setTimeout(() => {
          const i = this.#pending.indexOf(settle);
          if (i >= 0) this.#pending.splice(i, 1);
          resolve('none');
        }, timeout);
        const settle = (a: Ack): void => {
          clearTimeout(timer);
          resolve(a);
        };
        this.#pending.push(settle);
      });
      this.#o.output.write(`${cmd}\n`);
      return ack;
    });
    const answers = await Promise.all(acks);
    if (this.#isGone) throw new SpeakerError('exabgp', 'ExaBGP went away before acknowledging');
    if (answers.includes('none') && !this.#warnedNoAck) {
      this.#warnedNoAck = true;
      this.#o.log.warn({ timeout }, 'ExaBGP did not acknowledge a command; run it with exabgp.api.ack=true');
    }
    const refused = commands.filter((_, i) => answers[i] === 'error');
    if (refused.length) throw new SpeakerError('exabgp', `ExaBGP refused: ${refused.join('; ')}`);
  }

  #onLine(line: string): void {
    if (line === 'done' || line === 'error') {
      this.#pending.shift()?.(line);
      return;
    }
    if (line === 'shutdown') return this.#markGone('ExaBGP is shutting down');
    if (!line.startsWith('{')) {
      if (line) this.#o.log.debug({ line }, 'ExaBGP said something we do not use');
      return;
    }
    let msg: ExabgpMessage;
    try {
      msg = JSON.parse(line) as ExabgpMessage;
    } catch {
      this.#o.log.debug({ line }, 'ExaBGP sent a line that is not JSON');
      return;
    }
    if (msg.type === 'notification' && msg.notification === 'shutdown') return this.#markGone('ExaBGP is shutting down');
    if (msg.type !== 'state' || !msg.neighbor) return;
    const n = msg.neighbor;
    if (typeof n.asn?.local === 'number') this.#learnedAs = n.asn.local;
    this.#o.log.info({ peer: n.address?.peer, state: n.state }, `BGP neighbour ${n.address?.peer ?? '?'} is ${n.state ?? '?'}`);
    if (n.state === 'up' && this.#current !== undefined && this.#current !== 'withdraw') {
      // ExaBGP re-sends its RIB to a new session itself; saying it again costs nothing and
      // covers a prepend that needed the AS we just learnt.
      const intent = this.#current;
      this.#send(this.#commands(intent)).catch((err: unknown) => this.#o.log.warn({ err }, 'could not re-announce after the neighbour came up'));
    }
  }
}

interface ExabgpMessage {
  type?: string;
  notification?: string;
  neighbor?: {
    address?: { local?: string; peer?: string };
    asn?: { local?: number; peer?: number };
    state?: string;
  };
}
