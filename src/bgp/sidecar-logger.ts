// The sidecar logs to stderr, synchronously: with ExaBGP, stdout is the API pipe and a log
// line there would be read as a command; and a sidecar that is being killed should still
// leave its last transition in the journal.
import { pino, type Logger } from 'pino';

export function createSidecarLogger(opts: { level?: string } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, proc: 'sidecar' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
