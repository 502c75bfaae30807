// The "log" speaker: says what it would announce or withdraw and does nothing else. Used by
// `npm start` and on machines without a BGP speaker.
import type { Logger } from '../../log.js';
import type { RouteIntent } from '../fsm.js';
import type { ApplyResult, RouteDriver } from './route-driver.js';

export interface LogDriverOptions {
  prefixes: readonly string[];
  prepend: number;
  log: Logger;
}

export class LogDriver implements RouteDriver {
  readonly name = 'log';
  readonly gone: Promise<string> = new Promise(() => {});
  #current: RouteIntent | undefined;
  readonly #opts: LogDriverOptions;

  constructor(opts: LogDriverOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {}

  async apply(intent: RouteIntent): Promise<ApplyResult> {
    const changed = this.#current !== intent;
    this.#current = intent;
    const detail = describe(intent, this.#opts);
    if (changed) this.#opts.log.info({ speaker: 'log', intent, prefixes: this.#opts.prefixes }, `would ${detail}`);
    return { changed, detail: `would ${detail}` };
  }

  async refresh(intent: RouteIntent): Promise<void> {
    this.#opts.log.debug({ speaker: 'log', intent }, `would ${describe(intent, this.#opts)} again (refresh)`);
  }

  async close(): Promise<void> {}
}

function describe(intent: RouteIntent, o: LogDriverOptions): string {
  const list = o.prefixes.join(', ');
  switch (intent) {
    case 'withdraw': return `withdraw ${list}`;
    case 'announce': return `announce ${list}`;
    case 'announce-prepended': return `announce ${list} with ${o.prepend} AS-path prepends`;
  }
}
