// pino: a tiny core on the hot path. JSON lines to stdout, written asynchronously so a slow
// terminal or pipe never blocks a request; pretty output only when a person is watching.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  pretty?: boolean | 'auto';
  /** Bound fields on every line: { worker: 1 } or { proc: 'sidecar' }. */
  base?: Record<string, unknown>;
  /**
   * Batch lines up to 4 KiB and write them at least every 250 ms: one write for ~20
   * access-log lines instead of one each (the worker's hot path). Off: each line is
   * written at once (the supervisor, whose few lines people wait for).
   */
  batched?: boolean;
}

const BATCH_BYTES = 4096;
const BATCH_FLUSH_MS = 250;

export function createLogger(opts: LogOptions = {}): Logger {
  const pretty = opts.pretty === 'auto' || opts.pretty === undefined ? Boolean(process.stdout.isTTY) : opts.pretty;
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
  };
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // Asynchronous, buffered writes; flushed on exit (see flushLogger).
  const dest = pino.destination({ dest: 1, sync: false, ...(opts.batched ? { minLength: BATCH_BYTES } : {}) });
  if (opts.batched) {
    setInterval(() => { try { dest.flush(); } catch { /* flushed on exit */ } }, BATCH_FLUSH_MS).unref();
  }
  return pino(options, dest);
}

/** Writes what is buffered; call before process.exit. */
export function flushLogger(log: Logger): void {
  // Synchronously: the caller exits next, and batched lines must not be lost with it.
  const stream = (log as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym];
  try {
    if (stream?.flushSync) stream.flushSync();
    else log.flush();
  } catch { /* a transport (pretty) flushes itself */ }
}
