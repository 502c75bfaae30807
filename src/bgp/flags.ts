// `anyedge sidecar` flags. Each flag has the same name as its config key (kebab-case on the
// command line, camelCase in the file) and wins over the file. Errors name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { DampeningConfig, SidecarConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { AnyedgeError } from '../errors.js';
import { parseAddressPort, parsePrefix, type SidecarRunConfig } from './sidecar-config.js';

export type SidecarFlags = Partial<Omit<SidecarRunConfig, 'dampening'>> & { dampening?: Partial<DampeningConfig> };

export class SidecarFlagError extends AnyedgeError {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super('CONFIG', `${flag}: ${message}`);
    this.flag = flag;
  }
}

/** Help text, one line per flag, for the CLI's usage output. */
export const SIDECAR_FLAGS_HELP = `
  --speaker exabgp|bird|log     who announces the route (default log: only prints)
  --prefix 192.0.2.1/32         anycast prefix to announce; repeat for more
  --readyz URL                  the node's UNICAST admin /readyz (never the anycast address)
  --interval 1s                 probe interval
  --fast-interval 200ms         probe interval while a transition is pending
  --rise 3 / --fall 2           consecutive good / bad probes before announcing / withdrawing
  --timeout 500ms               a probe slower than this is a failure
  --refresh 30s                 repeat the current announcement this often
  --bird-socket PATH            BIRD control socket (default /run/bird/bird.ctl)
  --bird-protocol NAME          static protocol holding the prefix (default anycast)
  --bird-prepend-protocol NAME  the prepended one (default <bird-protocol>_prepend)
  --prepend N                   AS-path prepends while overloaded (default 3; 0: none)
  --local-as ASN                our AS, for ExaBGP's prepended as-path
  --next-hop self|IP            next hop for ExaBGP (default self)
  --metrics ADDR:PORT           serve GET /metrics on this address
  --dampening on|off            flap dampening (default on)
  --dampening-penalty 1000 --dampening-suppress 2000 --dampening-reuse 750
  --dampening-half-life 60s --dampening-max-suppress 5m
`.trimStart();

const OPTIONS = {
  speaker: { type: 'string' },
  prefix: { type: 'string', multiple: true },
  readyz: { type: 'string' },
  interval: { type: 'string' },
  'fast-interval': { type: 'string' },
  rise: { type: 'string' },
  fall: { type: 'string' },
  timeout: { type: 'string' },
  refresh: { type: 'string' },
  'bird-socket': { type: 'string' },
  'bird-protocol': { type: 'string' },
  'bird-prepend-protocol': { type: 'string' },
  prepend: { type: 'string' },
  'local-as': { type: 'string' },
  'next-hop': { type: 'string' },
  metrics: { type: 'string' },
  dampening: { type: 'string' },
  'dampening-penalty': { type: 'string' },
  'dampening-suppress': { type: 'string' },
  'dampening-reuse': { type: 'string' },
  'dampening-half-life': { type: 'string' },
  'dampening-max-suppress': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export interface ParseSidecarFlagsOptions {
  /** Flags the caller handles itself (`--config`, `--log-level`): accepted and ignored here. */
  passthrough?: NonNullable<ParseArgsConfig['options']>;
}

/** Parses `anyedge sidecar` flags; throws SidecarFlagError naming the first bad flag. */
export function parseSidecarFlags(argv: string[], opts: ParseSidecarFlagsOptions = {}): SidecarFlags {
  return parseSidecarArgs(argv, opts).flags;
}

/** Like parseSidecarFlags, also returning the passthrough flags' values. */
export function parseSidecarArgs(argv: string[], opts: ParseSidecarFlagsOptions = {}): { flags: SidecarFlags; passthrough: Record<string, string | boolean | Array<string | boolean> | undefined> } {
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...opts.passthrough, ...OPTIONS }, strict: true, allowPositionals: false }));
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(-[^' ]+)/.exec(msg)?.[1] ?? /"(-[^" ]+)/.exec(msg)?.[1] ?? 'sidecar';
    throw new SidecarFlagError(flag, `${msg.replace(/\. To specify a positional argument.*$/s, '')}\nRun "anyedge sidecar --help" for the flags.`);
  }
  const str = (k: keyof typeof OPTIONS): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const out: SidecarFlags = {};
  const damp: Partial<DampeningConfig> = {};

  const speaker = str('speaker');
  if (speaker !== undefined) {
    if (speaker !== 'exabgp' && speaker !== 'bird' && speaker !== 'log') throw new SidecarFlagError('--speaker', `expected exabgp, bird or log, got ${JSON.stringify(speaker)}`);
    out.speaker = speaker;
  }
  const prefixes = values['prefix'];
  if (Array.isArray(prefixes)) {
    out.prefixes = prefixes.map((p) => {
      if (typeof p !== 'string' || !parsePrefix(p)) throw new SidecarFlagError('--prefix', `expected an IP prefix like 192.0.2.1/32, got ${JSON.stringify(p)}`);
      return p;
    });
  }
  const readyz = str('readyz');
  if (readyz !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(readyz) || !URL.canParse(readyz)) throw new SidecarFlagError('--readyz', `expected a URL like http://10.0.0.5:9901/readyz, got ${JSON.stringify(readyz)}`);
    out.readyz = readyz;
  }
  const duration = (flag: keyof typeof OPTIONS): number | undefined => {
    const v = str(flag);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) throw new SidecarFlagError(`--${flag}`, `expected a duration like 200ms, 2s or 1m, got ${JSON.stringify(v)}`);
    return ms;
  };
  const integer = (flag: keyof typeof OPTIONS, min: number, max: number): number | undefined => {
    const v = str(flag);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new SidecarFlagError(`--${flag}`, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  const number = (flag: keyof typeof OPTIONS): number | undefined => {
    const v = str(flag);
    if (v === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new SidecarFlagError(`--${flag}`, `expected a number of 0 or more, got ${JSON.stringify(v)}`);
    return n;
  };
  const text = (flag: keyof typeof OPTIONS): string | undefined => {
    const v = str(flag);
    if (v !== undefined && v.trim() === '') throw new SidecarFlagError(`--${flag}`, 'must not be empty');
    return v;
  };

  set(out, 'interval', duration('interval'));
  set(out, 'fastInterval', duration('fast-interval'));
  set(out, 'timeout', duration('timeout'));
  set(out, 'refresh', duration('refresh'));
  set(out, 'rise', integer('rise', 1, 1000));
  set(out, 'fall', integer('fall', 1, 1000));
  set(out, 'prepend', integer('prepend', 0, 16));
  set(out, 'localAs', integer('local-as', 1, 4294967295));
  set(out, 'birdSocket', text('bird-socket'));
  set(out, 'birdProtocol', text('bird-protocol'));
  set(out, 'birdPrependProtocol', text('bird-prepend-protocol'));
  set(out, 'nextHop', text('next-hop'));
  const metrics = str('metrics');
  if (metrics !== undefined) {
    if (!parseAddressPort(metrics)) throw new SidecarFlagError('--metrics', `expected ADDR:PORT like 127.0.0.1:9902, got ${JSON.stringify(metrics)}`);
    out.metrics = metrics;
  }
  const dampening = str('dampening');
  if (dampening !== undefined) {
    if (!['on', 'off', 'true', 'false'].includes(dampening)) throw new SidecarFlagError('--dampening', `expected on or off, got ${JSON.stringify(dampening)}`);
    damp.enabled = dampening === 'on' || dampening === 'true';
  }
  set(damp, 'penalty', number('dampening-penalty'));
  set(damp, 'suppress', number('dampening-suppress'));
  set(damp, 'reuse', number('dampening-reuse'));
  set(damp, 'halfLife', duration('dampening-half-life'));
  set(damp, 'maxSuppress', duration('dampening-max-suppress'));
  if (Object.keys(damp).length) out.dampening = damp;
  const passthrough: Record<string, string | boolean | Array<string | boolean> | undefined> = {};
  for (const k of Object.keys(opts.passthrough ?? {})) if (!(k in OPTIONS)) passthrough[k] = values[k];
  return { flags: out, passthrough };
}

/**
 * The file's `sidecar` section with flags on top (dampening merged key by key). `readyz`
 * falls back to `defaultReadyz` (the CLI passes http://<admin.address>:<admin.port>/readyz).
 */
export function mergeSidecarFlags(file: SidecarConfig, flags: SidecarFlags, defaultReadyz?: string): SidecarRunConfig {
  const { dampening, ...rest } = flags;
  const readyz = flags.readyz ?? file.readyz ?? defaultReadyz;
  if (readyz === undefined) throw new SidecarFlagError('--readyz', 'required: the node\'s unicast admin /readyz URL (or sidecar.readyz in the config file)');
  return { ...file, ...rest, readyz, dampening: { ...file.dampening, ...dampening } };
}

function set<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
