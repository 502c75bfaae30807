// A stand-in for the node's admin plane inside an edge namespace, until `anyedge start` can
// run there: answers GET /readyz by the readiness contract, with the state read from a file
// on every request so the test controls it. Optionally answers GET / on the anycast address
// with the edge's name (which edge did the client reach?).
//
//   node netns-readyz-server.mjs --listen 10.255.1.2:9901 --state-file /tmp/x/state \
//        [--anycast 192.0.2.1:80 --name edge-b]
//
// State file contents: ready | overloaded | draining | disabled | failing | hang | garbage
// ("hang" never answers: a stalled event loop; "garbage" answers 200 with a non-JSON body).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, 'state-file': { type: 'string' }, anycast: { type: 'string' }, name: { type: 'string' } } });
const split = (s) => { const i = s.lastIndexOf(':'); return [s.slice(0, i), Number(s.slice(i + 1))]; };

const readyz = createServer((req, res) => {
  let state = 'failing';
  try { state = readFileSync(values['state-file'], 'utf8').trim(); } catch { /* no file: failing */ }
  if (req.url !== '/readyz') return res.writeHead(404).end();
  if (state === 'hang') return; // never answers
  if (state === 'garbage') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>');
  const ok = state === 'ready' || state === 'overloaded';
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
    .end(JSON.stringify({ ready: ok, state, reasons: ok && state === 'ready' ? [] : [`test set ${state}`] }));
});

const servers = [readyz];
const [host, port] = split(values.listen);
readyz.listen(port, host, () => process.stdout.write(`readyz listening on ${values.listen}\n`));
if (values.anycast) {
  const web = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${values.name ?? 'edge'}\n`));
  const [ah, ap] = split(values.anycast);
  web.listen(ap, ah, () => process.stdout.write(`web listening on ${values.anycast}\n`));
  servers.push(web);
}
const stop = () => {
  for (const s of servers) { s.close(); s.closeAllConnections(); }
  setTimeout(() => process.exit(0), 100).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
