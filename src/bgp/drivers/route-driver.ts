// What the sidecar asks of a BGP speaker. Operations are idempotent and say whether they
// changed anything, so the loop can re-apply them freely (after an error, on refresh) and
// count only real announcements and withdrawals.
import type { RouteIntent } from '../fsm.js';

export interface ApplyResult {
  /** True when the speaker's state changed (a route was announced, replaced or withdrawn). */
  changed: boolean;
  /** What was done, for the log line: the commands sent and the speaker's answers. */
  detail: string;
}

export interface RouteDriver {
  readonly name: 'exabgp' | 'bird' | 'log';
  /** Called once before the first apply (attach to pipes, check the speaker's config). */
  start(): Promise<void>;
  /**
   * Makes the speaker announce, announce with the AS path prepended, or withdraw every
   * configured prefix. Throws when the speaker could not be told; the caller retries.
   */
  apply(intent: RouteIntent): Promise<ApplyResult>;
  /**
   * Says again what was last applied, in case a peer session reset or someone changed the
   * speaker by hand. Never counts as a change.
   */
  refresh(intent: RouteIntent): Promise<void>;
  /** Releases pipes and sockets. Does not withdraw: the caller applies 'withdraw' first. */
  close(): Promise<void>;
  /** Resolves when the speaker is gone for good (ExaBGP closed our stdin); never for others. */
  readonly gone: Promise<string>;
}
