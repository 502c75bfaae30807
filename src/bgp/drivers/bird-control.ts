// A client for BIRD 2's control socket (the protocol birdc speaks), so the sidecar needs no
// birdc binary and gets BIRD's reply codes rather than text to scrape.
//
// The server greets with "0001 BIRD 2.0.12 ready.". Each reply line is a 4-digit code then
// "-" (more lines follow) or " " (the reply's last line); lines that start with a space
// continue the previous code. 0000 ends a successful reply, 8xxx are run-time errors
// ("8003 No protocols match"), 9xxx are parse errors ("9001 syntax error").
import { connect } from 'node:net';
import { SpeakerError } from './speaker-error.js';

export interface BirdLine {
  code: number;
  text: string;
}

export interface BirdReply {
  command: string;
  lines: BirdLine[];
  /** Code of the reply's last line: 0 for success, 8000-9999 for an error. */
  final: number;
}

export function isBirdError(code: number): boolean {
  return code >= 8000;
}

/**
 * Connects, waits for the greeting, runs the commands one after the other and closes. One
 * connection per call: a BIRD restart between calls costs nothing. Bounded by `timeout`.
 */
export function birdCommands(socketPath: string, commands: readonly string[], timeout = 2000): Promise<BirdReply[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const replies: BirdReply[] = [];
    let buffer = '';
    let greeted = false;
    let current: BirdLine[] = [];
    let lastCode = 0;
    let settled = false;

    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const timer = setTimeout(() => finish(new SpeakerError('bird', `no complete answer on ${socketPath} within ${timeout}ms`)), timeout);

    const sendNext = (): void => {
      const cmd = commands[replies.length];
      if (cmd === undefined) return finish();
      sock.write(`${cmd}\n`);
    };

    sock.setEncoding('utf8');
    sock.on('error', (err) => finish(new SpeakerError('bird', `control socket ${socketPath}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, err)));
    sock.on('close', () => finish(new SpeakerError('bird', `control socket ${socketPath} closed before the answer was complete`)));
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^(\d{4})([ -])(.*)$/.exec(line);
        if (!m) {
          // Continuation of the previous code.
          current.push({ code: lastCode, text: line.replace(/^ /, '') });
          continue;
        }
        lastCode = Number(m[1]);
        current.push({ code: lastCode, text: m[3] ?? '' });
        if (m[2] !== ' ') continue;
        // The reply's last line.
        if (!greeted) {
          if (lastCode !== 1) return finish(new SpeakerError('bird', `unexpected greeting on ${socketPath}: ${line}`));
          greeted = true;
        } else {
          replies.push({ command: commands[replies.length] ?? '', lines: current, final: lastCode });
        }
        current = [];
        sendNext();
      }
    });
  });
}

/** Names of the protocols BIRD knows ("show protocols"). */
export async function birdProtocols(socketPath: string, timeout?: number): Promise<Map<string, string>> {
  const [reply] = await birdCommands(socketPath, ['show protocols'], timeout);
  const out = new Map<string, string>();
  for (const l of reply?.lines ?? []) {
    if (l.code !== 1002) continue;
    const [name, , , state] = l.text.trim().split(/\s+/);
    if (name) out.set(name, state ?? '');
  }
  return out;
}
