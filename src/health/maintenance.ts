// The maintenance file (`health.maintenanceFile`): while it exists the node is "disabled" and
// the sidecar withdraws the route. An operator creates it with `touch`, or writes an expiry so
// a forgotten file cannot keep a node out of service forever:
//
//   (empty)                        disabled until the file is removed
//   2030-01-01T06:00:00Z           disabled until then (ISO-8601; no zone = local time)
//   1893477600                     disabled until then (epoch seconds)
//   <expiry line>\nkernel upgrade  any further lines are a note shown in /readyz reasons
//
// Once the expiry has passed the file is ignored and a warning says so. Fail safe: a file
// that exists but cannot be read, or whose first line is not an expiry, still disables the
// node, with a reason naming the problem. Polling is cheap: each check() is one stat(); the
// file is read again only when its inode, size or times change.
import { open, stat } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { MaintenanceStatus } from './readiness.js';

/** Bytes of the file that are read; an expiry and a note fit easily. */
const MAX_READ = 4096;
/** A file modified this recently is re-read even when stat() looks the same. */
const RACY_MS = 2000;
const EPOCH_SECONDS = /^\d{1,12}(\.\d+)?$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;

export interface ParsedMaintenance {
  /** Epoch milliseconds after which the file is ignored. */
  until?: number;
  /** Lines after the expiry. */
  note?: string;
  /** Why the content was not understood (the file still disables the node). */
  problem?: string;
}

/** Reads the content of a maintenance file (pure). */
export function parseMaintenance(content: string): ParsedMaintenance {
  const text = content.trim();
  if (text === '') return {};
  const newline = text.indexOf('\n');
  const first = (newline < 0 ? text : text.slice(0, newline)).trim();
  const rest = newline < 0 ? '' : text.slice(newline + 1).trim();
  const note = rest === '' ? {} : { note: rest };

  if (EPOCH_SECONDS.test(first)) return { until: Number(first) * 1000, ...note };
  if (ISO_8601.test(first)) {
    const ms = Date.parse(first.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return { until: ms, ...note };
  }
  const shown = first.length > 80 ? `${first.slice(0, 80)}…` : first;
  return {
    problem: `maintenance file content not understood (${JSON.stringify(shown)}): expected empty, an ISO-8601 time or epoch seconds on the first line; disabled without expiry`,
  };
}

export interface MaintenanceFileOptions {
  /** Wall-clock epoch milliseconds (the expiry is wall-clock time). Default Date.now. */
  now?: () => number;
  log?: Logger;
}

export class MaintenanceFile {
  readonly path: string;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  #version: string | undefined;
  #parsed: ParsedMaintenance = {};
  /** The expiry already warned about: one warning per expiry, not per poll. */
  #warnedExpired: number | undefined;
  #lastActive: boolean | undefined;

  constructor(path: string, opts: MaintenanceFileOptions = {}) {
    this.path = path;
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log;
  }

  /** The maintenance status now; the supervisor calls it every readiness evaluation (or on a timer). */
  async check(): Promise<MaintenanceStatus> {
    const status = await this.#check();
    if (status.active !== this.#lastActive) {
      if (this.#lastActive !== undefined || status.active) {
        this.#log?.warn({ file: this.path, ...status }, status.active ? 'maintenance: node disabled' : 'maintenance: node enabled again');
      }
      this.#lastActive = status.active;
    }
    return status;
  }

  async #check(): Promise<MaintenanceStatus> {
    let version: string;
    try {
      const s = await stat(this.path);
      // File times are coarse (a few ms): a same-size rewrite right after a read could look
      // unchanged, so a file modified in the last RACY_MS is read every time (as git does).
      version = Date.now() - s.mtimeMs < RACY_MS ? `racy:${Math.random()}` : `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.#version = undefined;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { active: false };
      // We cannot tell whether the file is there: fail safe.
      return { active: true, reason: `cannot stat maintenance file ${this.path}: ${code ?? String(err)}` };
    }

    if (version !== this.#version) {
      try {
        this.#parsed = parseMaintenance(await readHead(this.path));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return { active: false }; // removed between stat and open
        this.#parsed = { problem: `cannot read maintenance file ${this.path}: ${code ?? String(err)}; disabled without expiry` };
      }
      this.#version = version;
    }

    const { until, note, problem } = this.#parsed;
    if (until !== undefined && until <= this.#now()) {
      if (this.#warnedExpired !== until) {
        this.#warnedExpired = until;
        this.#log?.warn({ file: this.path, until: new Date(until).toISOString() }, 'maintenance file has expired and is ignored; remove it');
      }
      return { active: false };
    }
    const reason = problem ?? note;
    return { active: true, ...(until === undefined ? {} : { until }), ...(reason === undefined ? {} : { reason }) };
  }
}

async function readHead(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_READ);
    const { bytesRead } = await fh.read(buf, 0, MAX_READ, 0);
    return buf.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
}
