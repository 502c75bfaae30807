// pino: a tiny core on the hot path. JSON lines to stdout, written asynchronously so a slow
// terminal or pipe never blocks a request; pretty output only when a person is watching.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  pretty?: boolean | 'auto';
  /** Bound fields on every line: { worker: 1 } or { proc: 'sidecar' }. */
  base?: Record<string, unknown>;
}

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
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** Writes what is buffered; call before process.exit. */
export function flushLogger(log: Logger): void {
  try { log.flush(); } catch { /* a transport (pretty) flushes itself */ }
}
