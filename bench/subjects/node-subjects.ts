// The Node subjects without anyedge: the bare server (the reference every ratio divides by),
// its h2 core-API variant, and the two cache-less forwarders.
import { childScript } from '../paths.js';
import type { RunningSubject, SubjectContext, SubjectDef } from './types.js';
import { readyPorts } from './readiness.js';

async function startNodeChild(name: string, script: string, ctx: SubjectContext, extra: Record<string, string | boolean>): Promise<{ ports: Record<string, number>; m: ReturnType<SubjectContext['procs']['start']> }> {
  const args = JSON.stringify({ cert: ctx.pki.certFile, key: ctx.pki.keyFile, ...extra });
  const m = ctx.procs.start(name, process.execPath, { args: [childScript(script), args], cpus: ctx.cpus.server });
  return { ports: await readyPorts(m), m };
}

async function startBare(name: string, ctx: SubjectContext): Promise<RunningSubject> {
  const { ports, m } = await startNodeChild(name, 'subjects/bare-node-server.js', ctx, { mode: 'compat' });
  return { h1Port: ports['h1']!, h2Port: ports['h2']!, processes: [m] };
}

export const bareNode: SubjectDef = {
  name: 'bare',
  description: 'bare Node: node:https (h1) and the http2 compat API (h2) answering the same bytes from memory; the reference (1.00×)',
  requires: [],
  features: ['h1', 'h2', 'static'],
  pin: 'server',
  start: (ctx) => startBare('bare', ctx),
};

/**
 * Diagnostic, only when named: bare Node that also sends, built per response, the four fields
 * anyedge adds to every cached answer (Age, Via, Cache-Status, X-Request-Id). Its ratio to
 * bare is what those fields cost the runtime itself; anyedge's ratio to it is what anyedge's
 * own work costs. The targets stay against bare.
 */
export const bareNodeFields: SubjectDef = {
  name: 'bare-fields',
  description: 'bare Node also sending the fields anyedge adds to every hit (Age, Via, Cache-Status, X-Request-Id); diagnostic, only when named',
  optional: true,
  requires: [],
  features: ['h1', 'h2'],
  pin: 'server',
  async start(ctx) {
    const { ports, m } = await startNodeChild('bare-fields', 'subjects/bare-node-server.js', ctx, { mode: 'compat', fields: true });
    return { h1Port: ports['h1']!, h2Port: ports['h2']!, processes: [m] };
  },
};

/**
 * The bare server again, as a subject of its own: it starts anew and runs at the other end
 * of each round from bare (the harness puts it last and reverses every second round), so its
 * ratio to bare is how far two identical subjects drift apart in this run: the noise floor
 * every other ratio should be read against.
 */
export const bareNodeAgain: SubjectDef = {
  ...bareNode,
  name: 'bare-again',
  description: 'bare Node again, started anew at the other end of each round: its ratio to bare is this run\'s noise floor (A/A)',
  noiseFloor: true,
  start: (ctx) => startBare('bare-again', ctx),
};

export const bareNodeH2Stream: SubjectDef = {
  name: 'bare-h2stream',
  description: 'bare Node with the http2 core stream API (h2 scenarios only): what Node itself can do on h2',
  requires: [],
  features: ['h2'],
  pin: 'server',
  async start(ctx) {
    const { ports, m } = await startNodeChild('bare-h2stream', 'subjects/bare-node-server.js', ctx, { mode: 'stream' });
    return { h2Port: ports['h2']!, processes: [m] };
  },
};

export const undiciForwarder: SubjectDef = {
  name: 'undici',
  description: 'minimal forwarder: node:https + undici Pool.stream() to the origin, no cache (h1 only)',
  requires: [],
  features: ['h1'],
  pin: 'server',
  async start(ctx) {
    const { ports, m } = await startNodeChild('undici', 'subjects/undici-forwarder-server.js', ctx, { origin: ctx.originUrl });
    return { h1Port: ports['h1']!, processes: [m] };
  },
};

export const httpProxyForwarder: SubjectDef = {
  name: 'http-proxy',
  description: 'http-proxy forwarder: node:https + http-proxy with a keep-alive agent, no cache (h1 only)',
  requires: [],
  features: ['h1'],
  pin: 'server',
  async start(ctx) {
    const { ports, m } = await startNodeChild('http-proxy', 'subjects/http-proxy-forwarder-server.js', ctx, { origin: ctx.originUrl });
    return { h1Port: ports['h1']!, processes: [m] };
  },
};
