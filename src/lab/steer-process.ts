// An ExaBGP API process for the steer scenario: announces or withdraws a more-specific
// prefix when the lab writes "announce" or "withdraw" to a control file. (With BIRD as the
// speaker the lab enables the static protocol "steer" over birdc instead.)
//   node steer-process.js --control FILE --prefix 192.0.2.0/25
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { control: { type: 'string' }, prefix: { type: 'string' } } });
const control = values.control ?? '';
const prefix = values.prefix ?? '';
let current = 'withdraw';

function read(): string {
  try {
    return readFileSync(control, 'utf8').trim() === 'announce' ? 'announce' : 'withdraw';
  } catch {
    return 'withdraw';
  }
}

const timer = setInterval(() => {
  const want = read();
  if (want === current) return;
  current = want;
  process.stdout.write(`${want} route ${prefix} next-hop self\n`);
}, 50);

// ExaBGP writes acks and neighbour messages to our stdin; when it closes, ExaBGP is gone.
process.stdin.resume();
process.stdin.on('end', () => { clearInterval(timer); process.exit(0); });
process.on('SIGTERM', () => process.exit(0));
