#!/usr/bin/env node
// anyedge start | check | certs | drain | sidecar — the operator's entry points.
import cluster from 'node:cluster';
import { spawn, type ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type LoadOptions } from './config/load.js';
import type { Config } from './config/schema.js';
import { startDemoOrigin, type DemoOrigin } from './demo-origin.js';
import { createLogger } from './log.js';
import { ensureDevCertificates } from './server/certificates.js';
import { Supervisor } from './supervisor/supervisor.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_CERTS_DIR = resolve(PACKAGE_ROOT, 'certs');

const HELP: Record<string, string> = {
  main: `anyedge — an edge node for anycast CDNs

Usage: anyedge <command> [options]

Commands:
  start     run the node (supervisor, workers, admin plane)
  check     validate a configuration offline; prints OK or every problem
  certs     create development certificates (CA + localhost leaf) in certs/
  drain     ask a running node to drain and stop (planned maintenance)
  sidecar   announce / withdraw the anycast route from the node's readiness
  lab       a small anycast internet in network namespaces (root): up, status, run, down

Run "anyedge <command> --help" for a command's options.`,
  start: `Usage: anyedge start [--config FILE] [options]

With no --config and no --origin, runs the embedded demo: a development certificate,
a demo origin on loopback, the edge on https://localhost:8443, the admin plane on
http://127.0.0.1:9901 and a log-only sidecar.

Options (override the file):
  -c, --config FILE     YAML configuration (see README "Configuration")
      --origin URL      origin for every host (with no hosts configured: for any Host)
      --listen ADDR:PORT  one TLS listener (h2 + HTTP/1.1)
      --admin ADDR:PORT   admin plane address
      --workers N       worker processes (default: number of CPUs)
      --certs-dir DIR   where development certificates live (default: <package>/certs)
      --no-sidecar      demo mode without the log-only sidecar
  -h, --help`,
  check: `Usage: anyedge check [--config FILE] [--origin URL] [--listen ADDR:PORT] [--admin ADDR:PORT] [--workers N]

Validates the configuration exactly as "start" would, without binding anything.
Prints "OK" and a summary, or every problem with its key path, and exits 1.`,
  certs: `Usage: anyedge certs [--dir DIR]

Creates a development CA and an ECDSA P-256 certificate for localhost, 127.0.0.1 and
::1 in DIR (default: <package>/certs), only if they do not exist yet. Never use them in
production.`,
  drain: `Usage: anyedge drain [--admin URL] [--token TOKEN]

Asks the node whose admin plane is at URL (default http://127.0.0.1:9901) to drain:
readiness turns "draining", the sidecar withdraws the route, the node keeps serving for
shutdown.grace, then stops accepting, finishes in-flight requests and exits.`,
};

function fail(message: string, code = 2): never {
  process.stderr.write(`anyedge: ${message}\n`);
  process.exit(code);
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (err) {
    fail(`${command}: ${(err as Error).message}\nRun "anyedge ${command} --help".`);
  }
}

const configFlags = {
  config: { type: 'string', short: 'c' },
  origin: { type: 'string' },
  listen: { type: 'string' },
  admin: { type: 'string' },
  workers: { type: 'string' },
} as const;

function loadOptions(values: Record<string, string | boolean | undefined>): LoadOptions {
  const o: LoadOptions = {};
  if (typeof values['config'] === 'string') o.file = values['config'];
  if (typeof values['origin'] === 'string') o.origin = values['origin'];
  if (typeof values['listen'] === 'string') o.listen = values['listen'];
  if (typeof values['admin'] === 'string') o.admin = values['admin'];
  if (typeof values['workers'] === 'string') {
    const n = Number(values['workers']);
    if (!Number.isInteger(n) || n < 1) fail(`--workers: expected a whole number of at least 1, got "${values['workers']}"`);
    o.workers = n;
  }
  return o;
}

function hasIpv6Loopback(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.internal && i.address === '::1'));
}

async function start(args: string[]): Promise<void> {
  const { values } = parse('start', args, { ...configFlags, 'certs-dir': { type: 'string' }, 'no-sidecar': { type: 'boolean' } });
  if (values.help) { console.log(HELP['start']); return; }
  const opts = loadOptions(values);
  const demo = opts.file === undefined && opts.origin === undefined;
  const certsDir = resolve(values['certs-dir'] ?? DEFAULT_CERTS_DIR);
  let demoOrigin: DemoOrigin | undefined;
  let sidecar: ChildProcess | undefined;
  let config: Readonly<Config>;
  try {
    // Without certificates in the config, the development ones are used (created if absent).
    const dev = await ensureDevCertificates(certsDir);
    if (dev.created) process.stderr.write(`anyedge: created development certificates in ${certsDir} (trust ${dev.caCert} to avoid browser warnings)\n`);
    if (demo) {
      demoOrigin = await startDemoOrigin(0);
      opts.origin = demoOrigin.url;
    }
    if (demo && opts.listen === undefined) {
      // https://localhost may resolve to ::1 first; answer there too.
      opts.listeners = [{ address: '127.0.0.1', port: 8443, tls: true }, ...(hasIpv6Loopback() ? [{ address: '::1', port: 8443, tls: true }] : [])];
    }
    config = loadConfig({ ...opts, devCertificate: { cert: dev.cert, key: dev.key } });
  } catch (err) {
    await demoOrigin?.close();
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty, base: { proc: 'supervisor' } });
  const supervisor = new Supervisor(config, {
    log,
    onReady: ({ listeners, admin }) => {
      const l = listeners[0]!;
      const host = l.address === '127.0.0.1' || l.address === '::1' ? 'localhost' : l.address.includes(':') ? `[${l.address}]` : l.address;
      const url = `${l.tls ? 'https' : 'http'}://${host}:${l.port}/`;
      const lines = [
        '',
        `  anyedge is ready${demo ? ' (demo: development certificate, demo origin, log-only sidecar)' : ''}`,
        `  edge:   ${url}`,
        `  admin:  ${admin}/readyz   ${admin}/metrics`,
        ...(demoOrigin ? [`  origin: ${demoOrigin.url} (demo)`] : []),
        `  try:    curl --cacert ${resolve(certsDir, 'dev-ca.pem')} ${url}${demo ? 'cacheable' : ''} -i`,
        '',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (demo && !values['no-sidecar']) {
        sidecar = spawn(process.execPath, [fileURLToPath(import.meta.url), 'sidecar', '--speaker', 'log', '--readyz', `${admin}/readyz`, '--prefix', '192.0.2.1/32'], { stdio: 'inherit' });
      }
    },
    onStopped: async () => {
      if (sidecar && sidecar.exitCode === null) {
        const exited = new Promise((r) => sidecar!.once('exit', r));
        sidecar.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      }
      await demoOrigin?.close();
    },
  });
  try {
    await supervisor.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await demoOrigin?.close();
    fail(e.code === 'EADDRINUSE' ? `cannot listen: address in use (${e.message}); pass --listen / --admin or stop the other process` : e.message, 1);
  }
}

function check(args: string[]): void {
  const { values } = parse('check', args, configFlags);
  if (values.help) { console.log(HELP['check']); return; }
  try {
    const cfg = loadConfig(loadOptions(values));
    const lines = [
      'OK',
      `  listeners:    ${cfg.listeners.map((l) => `${l.tls ? 'https' : 'http'}://${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`).join(', ')}`,
      `  hosts:        ${cfg.hosts.map((h) => `${h.names.join(' ')} → ${h.origins.join(', ') || '(static only)'}`).join('; ') || '(none)'}`,
      `  certificates: ${cfg.certificates.length}`,
      `  workers:      ${cfg.workers}`,
      `  admin:        http://${cfg.admin.address}:${cfg.admin.port}${cfg.admin.token ? ' (token required)' : ''}`,
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function certs(args: string[]): Promise<void> {
  const { values } = parse('certs', args, { dir: { type: 'string' } });
  if (values.help) { console.log(HELP['certs']); return; }
  const dir = resolve(values.dir ?? DEFAULT_CERTS_DIR);
  const p = await ensureDevCertificates(dir);
  console.log(`${p.created ? 'created' : 'already present'}:\n  CA:          ${p.caCert}\n  certificate: ${p.cert}\n  key:         ${p.key}\nTrust the CA for local testing only, e.g. curl --cacert ${p.caCert} https://localhost:8443/`);
}

async function drain(args: string[]): Promise<void> {
  const { values } = parse('drain', args, { admin: { type: 'string' }, token: { type: 'string' } });
  if (values.help) { console.log(HELP['drain']); return; }
  const admin = (values.admin ?? 'http://127.0.0.1:9901').replace(/\/$/, '');
  try {
    const res = await fetch(`${admin}/drain`, { method: 'POST', headers: values.token ? { authorization: `Bearer ${values.token}` } : {}, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (!res.ok) fail(`drain refused by ${admin}: ${res.status} ${text.trim()}`, 1);
    console.log(`draining: ${admin} accepted the drain; watch ${admin}/readyz`);
  } catch (err) {
    fail(`cannot reach the admin plane at ${admin}: ${(err as Error).message}`, 1);
  }
}

async function lab(args: string[]): Promise<void> {
  const { labMain } = await import('./lab/cli.js');
  await labMain(args);
}

async function sidecar(args: string[]): Promise<void> {
  const { sidecarMain } = await import('./bgp/sidecar-cli.js');
  await sidecarMain(args);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': return start(rest);
    case 'check': return check(rest);
    case 'certs': return certs(rest);
    case 'drain': return drain(rest);
    case 'sidecar': return sidecar(rest);
    case 'lab': return lab(rest);
    case undefined: case '-h': case '--help': case 'help':
      console.log(HELP['main']);
      return;
    default:
      fail(`unknown command "${command}"\n\n${HELP['main']}`);
  }
}

if (cluster.isPrimary && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`anyedge: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
