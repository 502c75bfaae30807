// The lab's origin, inside its namespace: the demo origin (/cacheable, /time, /slow …) on
// the address the edges reach over their private links.
//   node origin-main.js --listen 10.255.250.1:8080
import { parseArgs } from 'node:util';
import { startDemoOrigin } from '../demo-origin.js';

const { values } = parseArgs({ options: { listen: { type: 'string' } } });
const listen = values.listen ?? '127.0.0.1:8080';
const i = listen.lastIndexOf(':');
const origin = await startDemoOrigin(Number(listen.slice(i + 1)), listen.slice(0, i));
process.stdout.write(`${JSON.stringify({ msg: 'origin listening', url: origin.url })}\n`);
const stop = (): void => { void origin.close().finally(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
