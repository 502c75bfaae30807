// Load once, validate everything, freeze. A config that fails here never starts half a node:
// `anyedge check` and `anyedge start` run exactly this function.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { AnyedgeError } from '../errors.js';
import { configSchema, type Config, type ConfigInput } from './schema.js';

export class ConfigError extends AnyedgeError {
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super('CONFIG', `${source}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** Flags given on the command line; they override the file. */
export interface ConfigOverrides {
  origin?: string;
  /** One TLS listener, ADDRESS:PORT (--listen). */
  listen?: string;
  /** Listeners replacing the file's (the demo binds 127.0.0.1 and ::1); --listen wins. */
  listeners?: Array<{ address: string; port: number; tls: boolean }>;
  admin?: string;
  workers?: number;
  /** Use these dev certificates when the config names none (npm start, quick start). */
  devCertificate?: { cert: string; key: string };
}

export interface LoadOptions extends ConfigOverrides {
  file?: string;
  /** Skip checks that read files (certificates, CA) — used only by unit tests of the schema. */
  skipFileChecks?: boolean;
}

/** `listeners[0].port` from zod's path. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(root)';
}

function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const base = issue.path.length ? `${path}.` : '';
    return issue.keys.map((k) => `${base}${k}: unknown key`).join('\n  ');
  }
  if (issue.code === 'invalid_type') {
    let got: unknown = raw;
    for (const p of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[p as string];
    const gotType = got === undefined ? 'nothing' : Array.isArray(got) ? 'a list' : typeof got;
    return `${path}: expected ${issue.expected}, got ${gotType}`;
  }
  return `${path}: ${issue.message}`;
}

/** host:port or [v6]:port → parts; throws a message naming the flag. */
export function parseHostPort(value: string, flag: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new ConfigError([`${flag}: expected ADDRESS:PORT like 127.0.0.1:8443 or [::1]:8443, got ${JSON.stringify(value)}`], 'command line');
  return { address: m[1]!, port: Number(m[2]) };
}

function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides): void {
  if (o.listeners !== undefined) raw['listeners'] = o.listeners;
  if (o.listen !== undefined) {
    const { address, port } = parseHostPort(o.listen, '--listen');
    raw['listeners'] = [{ address, port, tls: true }];
  }
  if (o.admin !== undefined) {
    const { address, port } = parseHostPort(o.admin, '--admin');
    raw['admin'] = { ...(raw['admin'] as object | undefined), address, port };
  }
  if (o.workers !== undefined) raw['workers'] = o.workers;
  if (o.origin !== undefined) {
    const hosts = (raw['hosts'] as unknown[] | undefined) ?? [];
    // With --origin alone, that origin serves every Host.
    raw['hosts'] = hosts.length ? hosts : [{ names: ['*'], origins: [o.origin] }];
    if (hosts.length) {
      for (const h of hosts as Array<Record<string, unknown>>) h['origins'] = [o.origin];
    }
  }
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/** Checks that need the whole config or the file system; each message names its key. */
function semanticProblems(cfg: Config, checkFiles: boolean): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  cfg.hosts.forEach((h, i) => {
    for (const n of h.names) {
      const prev = seen.get(n);
      if (prev !== undefined) problems.push(`hosts[${i}].names: "${n}" is already served by hosts[${prev}]`);
      seen.set(n, i);
    }
    if (h.origins.length === 0 && !h.static) problems.push(`hosts[${i}]: needs origins, static, or both`);
  });
  if (cfg.defaultHost !== undefined && !seen.has(cfg.defaultHost)) {
    problems.push(`defaultHost: "${cfg.defaultHost}" is not one of hosts[].names`);
  }
  if (!isLoopback(cfg.admin.address) && cfg.admin.token === undefined) {
    problems.push(`admin.token: required when admin.address (${cfg.admin.address}) is not loopback`);
  }
  cfg.listeners.forEach((l, i) => {
    if (isIP(l.address) === 0 && l.address !== 'localhost') problems.push(`listeners[${i}].address: expected an IP address, got "${l.address}"`);
  });
  if (cfg.listeners.some((l) => l.tls) && cfg.certificates.length === 0) {
    problems.push('certificates: a TLS listener needs at least one certificate (run `anyedge certs` for a development one)');
  }
  const ports = new Set<string>();
  for (const l of [...cfg.listeners, cfg.admin]) {
    const k = `${l.address}:${l.port}`;
    if (l.port !== 0 && ports.has(k)) problems.push(`listeners: ${k} is used twice (admin included)`);
    ports.add(k);
  }
  if (checkFiles) {
    cfg.certificates.forEach((c, i) => {
      let ok = true;
      c.cert.forEach((f, j) => { if (!existsSync(f)) { ok = false; problems.push(`certificates[${i}].cert${c.cert.length > 1 ? `[${j}]` : ''}: file not found: ${f}`); } });
      c.key.forEach((f, j) => { if (!existsSync(f)) { ok = false; problems.push(`certificates[${i}].key${c.key.length > 1 ? `[${j}]` : ''}: file not found: ${f}`); } });
      if (ok) {
        try {
          createSecureContext({ cert: c.cert.map((f) => readFileSync(f)), key: c.key.map((f) => readFileSync(f)) });
        } catch (err) {
          problems.push(`certificates[${i}]: cannot load certificate/key: ${(err as Error).message}`);
        }
      }
    });
    for (const k of ['ca', 'cert', 'key'] as const) {
      const f = cfg.origin[k];
      if (f !== undefined && !existsSync(f)) problems.push(`origin.${k}: file not found: ${f}`);
    }
    if (cfg.tls.ticketKeyFile !== undefined) {
      if (!existsSync(cfg.tls.ticketKeyFile)) problems.push(`tls.ticketKeyFile: file not found: ${cfg.tls.ticketKeyFile}`);
      else if (readTicketKey(cfg.tls.ticketKeyFile) === undefined) problems.push('tls.ticketKeyFile: expected 48 bytes (raw, 96 hex digits or base64)');
    }
    cfg.hosts.forEach((h, i) => {
      if (h.static && !existsSync(h.static.root)) problems.push(`hosts[${i}].static.root: directory not found: ${h.static.root}`);
    });
  }
  return problems;
}

/** 48 bytes of ticket key from a file holding them raw, as hex or as base64. */
export function readTicketKey(file: string): Buffer | undefined {
  const data = readFileSync(file);
  if (data.length === 48) return data;
  const text = data.toString('utf8').trim();
  if (/^[0-9a-f]{96}$/i.test(text)) return Buffer.from(text, 'hex');
  const b = Buffer.from(text, 'base64');
  return b.length === 48 ? b : undefined;
}

function resolvePaths(cfg: Config, base: string): void {
  const r = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  for (const c of cfg.certificates) { c.cert = c.cert.map(r); c.key = c.key.map(r); }
  for (const k of ['ca', 'cert', 'key'] as const) { const v = cfg.origin[k]; if (v !== undefined) cfg.origin[k] = r(v); }
  if (cfg.tls.ticketKeyFile !== undefined) cfg.tls.ticketKeyFile = r(cfg.tls.ticketKeyFile);
  for (const h of cfg.hosts) if (h.static) h.static.root = r(h.static.root);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Parses and validates raw (already YAML-decoded) input. Throws ConfigError listing every problem. */
export function validateConfig(input: unknown, opts: LoadOptions & { base?: string; source?: string } = {}): Readonly<Config> {
  const source = opts.source ?? 'config';
  if (input !== null && input !== undefined && (typeof input !== 'object' || Array.isArray(input))) {
    throw new ConfigError(['(root): expected a mapping of keys'], source);
  }
  const raw: Record<string, unknown> = structuredClone((input ?? {}) as Record<string, unknown>);
  applyOverrides(raw, opts);
  if (opts.devCertificate && (raw['certificates'] === undefined || (raw['certificates'] as unknown[]).length === 0)) {
    raw['certificates'] = [{ names: [], cert: opts.devCertificate.cert, key: opts.devCertificate.key }];
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => formatIssue(i, raw)), source);
  }
  const cfg = parsed.data;
  resolvePaths(cfg, opts.base ?? process.cwd());
  const problems = semanticProblems(cfg, !opts.skipFileChecks);
  if (problems.length) throw new ConfigError(problems, source);
  return deepFreeze(cfg);
}

/** Reads the YAML file (if any), applies flags, validates, freezes. */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  let input: unknown = {};
  let base = process.cwd();
  let source = 'command line';
  if (opts.file !== undefined) {
    source = opts.file;
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError([`cannot read ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`], source);
    }
    try {
      input = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
    } catch (err) {
      throw new ConfigError([`YAML: ${(err as Error).message.split('\n')[0]}`], source);
    }
    base = dirname(resolve(opts.file));
  }
  return validateConfig(input, { ...opts, base, source });
}

export type { Config, ConfigInput };
