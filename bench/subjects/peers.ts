// nginx (proxy_cache) and HAProxy (cache) from Debian, configured from bench/peers/ templates
// with this run's ports and paths. One worker / thread each, pinned like the Node subjects.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PEERS_DIR } from '../paths.js';
import { BenchError } from '../processes.js';
import { waitForHttps } from './readiness.js';
import type { SubjectDef } from './types.js';

export function fillTemplate(template: string, values: Record<string, string>): string {
  const out = template.replace(/\{\{([A-Z_]+)\}\}/g, (all, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`template placeholder ${all} has no value`);
    return v;
  });
  return out;
}

export const nginx: SubjectDef = {
  name: 'nginx',
  description: 'nginx (Debian) proxy_cache, 1 worker; static via alias; h2 via listen … http2',
  requires: ['nginx'],
  features: ['h1', 'h2', 'static'],
  pin: 'server',
  async start(ctx) {
    const port = await ctx.freePort();
    const dir = join(ctx.dir, 'nginx');
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    const origin = new URL(ctx.originUrl);
    writeFileSync(conf, fillTemplate(readFileSync(join(PEERS_DIR, 'nginx.conf'), 'utf8'), {
      // As root, nginx would drop its workers to "nobody", who cannot write the temp dir.
      USER: process.getuid?.() === 0 ? 'user root;' : '',
      WORKERS: '1',
      DIR: dir,
      PORT: String(port),
      CERT: ctx.pki.certFile,
      KEY: ctx.pki.keyFile,
      STATIC_ROOT: ctx.staticRoot,
      ORIGIN_HOSTPORT: origin.host,
    }));
    const args = ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'];
    const test = spawnSync('nginx', [...args.slice(0, 6), '-t'], { encoding: 'utf8' });
    if (test.status !== 0) throw new BenchError('nginx', `configuration test failed:\n${test.stderr}`);
    const m = ctx.procs.start('nginx', 'nginx', { args, cpus: ctx.cpus.server });
    await waitForHttps(m, port);
    return { h1Port: port, h2Port: port, processes: [m] };
  },
};

export const haproxy: SubjectDef = {
  name: 'haproxy',
  description: 'HAProxy (Debian) cache, 1 thread; static via http-request return file; h2 via alpn',
  requires: ['haproxy'],
  features: ['h1', 'h2', 'static'],
  pin: 'server',
  async start(ctx) {
    const port = await ctx.freePort();
    const dir = join(ctx.dir, 'haproxy');
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, fillTemplate(readFileSync(join(PEERS_DIR, 'haproxy.cfg'), 'utf8'), {
      THREADS: '1',
      PORT: String(port),
      PEM: ctx.pki.pemFile,
      STATIC_FILE: join(ctx.staticRoot, 'file-1k.bin'),
      ORIGIN_HOSTPORT: new URL(ctx.originUrl).host,
    }));
    const test = spawnSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8' });
    if (test.status !== 0) throw new BenchError('haproxy', `configuration check failed:\n${test.stderr}${test.stdout}`);
    // -db: stay in the foreground, so SIGTERM to this pid stops it.
    const m = ctx.procs.start('haproxy', 'haproxy', { args: ['-db', '-f', cfg], cpus: ctx.cpus.server });
    await waitForHttps(m, port);
    return { h1Port: port, h2Port: port, processes: [m] };
  },
};
