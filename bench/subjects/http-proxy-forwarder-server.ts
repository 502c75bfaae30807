// An http-proxy forwarder (the classic Node reverse proxy): node:https in front, a keep-alive
// http.Agent to the origin. No cache. Child entry; prints {"ready":{"h1":P}}.
import { Agent } from 'node:http';
import { createServer } from 'node:https';
import httpProxy from 'http-proxy';
import { announce, childArgs, listen, stopOnSigterm, tlsMaterial } from './node-server-common.js';

const args = childArgs();
if (!args.origin) throw new Error('origin is required');
const agent = new Agent({ keepAlive: true, maxSockets: 128, keepAliveMsecs: 60_000 });
const proxy = httpProxy.createProxyServer({ target: args.origin, agent, xfwd: false });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) { res.writeHead(502, { 'content-length': 0 }); res.end(); } else res.destroy();
});

const server = createServer({ ...tlsMaterial(args), ALPNProtocols: ['http/1.1'] }, (req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

const port = await listen(server);
stopOnSigterm([server], async () => { proxy.close(); agent.destroy(); });
announce({ h1: port });
