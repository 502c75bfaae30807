// anyedge itself, started exactly as an operator would (`anyedge start --config FILE`), with
// one worker (pinned to the server core, comparable to every single-process subject) or N
// workers (every core: shows what the cluster buys on this machine, generator included).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ANYEDGE_CLI } from '../paths.js';
import { BenchError } from '../processes.js';
import type { SubjectContext, SubjectDef } from './types.js';

export function anyedgeConfig(ctx: SubjectContext, port: number, adminPort: number, workers: number, overload = true): Record<string, unknown> {
  return {
    ...(overload ? {} : { overload: { enabled: false } }),
    workers,
    listeners: [{ address: '127.0.0.1', port, tls: true }],
    certificates: [{ names: [], cert: ctx.pki.certFile, key: ctx.pki.keyFile }],
    hosts: [{ names: ['*'], origins: [ctx.originUrl], static: { root: ctx.staticRoot, prefix: '/static/' } }],
    // Active health checks off: the bench origin is always up, and probes would add load.
    origin: { healthCheck: { path: '' } },
    admin: { address: '127.0.0.1', port: adminPort },
    log: { access: false, level: 'info', pretty: false },
    // A maintenance file that cannot exist here.
    health: { maintenanceFile: join(ctx.dir, 'maintenance') },
  };
}

function anyedgeSubject(name: string, workers: (ctx: SubjectContext) => number, pin: 'server' | 'all', description: string, overload = true): SubjectDef {
  return {
    name,
    description,
    ...(overload ? {} : { optional: true }),
    requires: [],
    features: ['h1', 'h2', 'static'],
    pin,
    async start(ctx) {
      const [port, adminPort] = [await ctx.freePort(), await ctx.freePort()];
      const file = join(ctx.dir, 'anyedge.yaml');
      writeFileSync(file, stringify(anyedgeConfig(ctx, port, adminPort, workers(ctx), overload)));
      // With --profile, the primary and its workers (cluster passes execArgv on) each write a
      // .cpuprofile when they exit; a SIGTERM lets them exit (shutdown.grace is 0 here).
      const profile = ctx.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`];
      const m = ctx.procs.start(name, process.execPath, { args: [...profile, ANYEDGE_CLI, 'start', '--config', file], cpus: ctx.cpus[pin], env: { ...process.env, NO_COLOR: '1' } });
      const ready = await m.waitForLine((_l, json) => {
        const j = json as { msg?: string; listeners?: Array<{ port: number }>; admin?: string } | undefined;
        return j?.msg === 'anyedge ready' ? j : undefined;
      }, 30_000);
      const listened = ready.listeners?.[0]?.port;
      if (listened !== port) throw new BenchError(name, `ready on ${JSON.stringify(ready.listeners)}, expected port ${port}`);
      return { h1Port: port, h2Port: port, processes: [m], ...(ready.admin ? { adminUrl: ready.admin } : {}) };
    },
  };
}

export const anyedge1: SubjectDef = anyedgeSubject('anyedge-1w', () => 1, 'server', 'anyedge, 1 worker (supervisor + worker pinned to the server core)');
export const anyedgeN: SubjectDef = anyedgeSubject('anyedge-Nw', (ctx) => ctx.workers, 'all', 'anyedge, N workers (N = cores; not pinned: shares the generator\'s core)');
/** Diagnostic: the same node with the overload manager off, to tell path cost from overload policy. */
export const anyedge1NoOverload: SubjectDef = anyedgeSubject('anyedge-1w-nool', () => 1, 'server', 'anyedge, 1 worker, overload.enabled: false (diagnostic; only when named)', false);
