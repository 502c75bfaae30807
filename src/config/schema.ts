// The one configuration schema. Every key has a documented default (see README
// "Configuration"); unknown keys are errors, so a typo never silently does nothing.
import { cpus } from 'node:os';
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';

/** "2s", "200ms" or a number of milliseconds → milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "200ms", "2s" or "1m", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

/** "16kb", "8mb" or a number of bytes → bytes. */
const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size like "16kb", "8mb" or a number of bytes, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return bytes;
});

const port = z.number().int().min(0).max(65535);
const hostName = z
  .string()
  .min(1)
  .regex(/^\*$|^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$|^\[?[0-9a-f:.]+\]?$/i, 'expected a host name, "*.example.com", "*" (any host) or an IP address')
  .transform((s) => s.toLowerCase());
const originUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// origin URL' }).refine(
  (u) => { const p = new URL(u).pathname; return p === '/' || p === ''; },
  'an origin URL names scheme, host and port only (no path)',
);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const listenerSchema = z.strictObject({
  address: z.string().default('127.0.0.1'),
  port: port.default(8443),
  /** false: plain HTTP/1.1 (for a TLS-terminating load balancer in front, or tests). */
  tls: z.boolean().default(true),
});

export const certificateSchema = z.strictObject({
  /** SNI names this certificate answers: exact ("example.com") or wildcard ("*.example.com"). */
  names: z.array(hostName).default([]),
  /** PEM files. Give a list to serve an ECDSA and an RSA chain for the same names. */
  cert: oneOrMany(z.string().min(1)),
  key: oneOrMany(z.string().min(1)),
}).refine((c) => c.cert.length === c.key.length, { message: 'cert and key must list the same number of files', path: ['key'] });

export const staticSchema = z.strictObject({
  /** Directory served at the edge without the origin. */
  root: z.string().min(1),
  /** URL prefix mapped onto root. */
  prefix: z.string().startsWith('/').default('/'),
  /** Names with a content hash (app.3f9a1c2b.js) get `Cache-Control: public, max-age=31536000, immutable`. */
  immutablePattern: z.string().default('[.-][0-9a-f]{8,}\\.'),
  /** Cache-Control for everything else. */
  cacheControl: z.string().default('public, max-age=300'),
});

export const hostSchema = z.strictObject({
  names: z.array(hostName).min(1),
  /** Origins for this host, tried round-robin; a refused connection moves to the next. */
  origins: z.array(originUrl).default([]),
  static: staticSchema.optional(),
  /** Send the client's Host to the origin (true) or the origin URL's host (false). */
  preserveHost: z.boolean().default(true),
});

export const healthCheckSchema = z.strictObject({
  /** Path probed on each origin; empty string disables active checks. */
  path: z.string().default('/'),
  interval: duration.default(2000),
  timeout: duration.default(1000),
  rise: z.number().int().min(1).default(2),
  fall: z.number().int().min(1).default(3),
});

export const originLinkSchema = z.strictObject({
  connectTimeout: duration.default(2000),
  /** Time to first response byte from the origin → 504 when exceeded. */
  headersTimeout: duration.default(30_000),
  /** Idle time between body chunks from the origin. */
  bodyTimeout: duration.default(30_000),
  keepAliveTimeout: duration.default(30_000),
  /** Connections per origin per worker. */
  connections: z.number().int().min(1).default(128),
  /** PEM CA bundle to verify an https origin (private PKI). */
  ca: z.string().optional(),
  /** Client certificate and key for mTLS to the origin. */
  cert: z.string().optional(),
  key: z.string().optional(),
  /** SNI / certificate name to expect from an https origin, when not the URL's host. */
  servername: z.string().optional(),
  healthCheck: healthCheckSchema.default(healthCheckSchema.parse({})),
}).refine((o) => (o.cert === undefined) === (o.key === undefined), { message: 'cert and key go together for mTLS', path: ['key'] });

export const limitsSchema = z.strictObject({
  /** Request header bytes → 431 beyond. */
  maxHeaderSize: size.default(16 * 1024),
  /** Request body bytes → 413 beyond. */
  maxBodySize: size.default(10 * 1024 * 1024),
  /** Time to receive a request's complete headers → 408. */
  headersTimeout: duration.default(10_000),
  /** Time to receive a complete request → 408. */
  requestTimeout: duration.default(30_000),
  /** Idle keep-alive time between requests. */
  keepAliveTimeout: duration.default(5_000),
  /**
   * A connection on which nothing moved either way for this long is closed: one that never
   * sends a request, a client that stopped reading its response, a quiet h2 session. A
   * request waiting on its origin is not idle. HTTP/1.1 connections are checked every
   * idleTimeout / 4 (at most 5 s), so they close up to that much later.
   */
  idleTimeout: duration.default(120_000),
  maxConcurrentStreams: z.number().int().min(1).max(1000).default(100),
});

export const tlsSchema = z.strictObject({
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
  /**
   * 48 random bytes (raw, hex or base64) shared by every node of a site so that an anycast
   * client moved to another node resumes its session. Without it, a random key is shared by
   * the workers of this node only.
   */
  ticketKeyFile: z.string().optional(),
  sessionTimeout: duration.default(3_600_000),
});

export const cacheSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Total bytes (bodies + headers + metadata) held per worker. */
  maxSize: size.default(256 * 1024 * 1024),
  maxObjectSize: size.default(8 * 1024 * 1024),
  /** Store responses that carry Set-Cookie (the cookie is then sent to every client). */
  storeSetCookie: z.boolean().default(false),
  /** Serve stale this long after expiry when the origin fails and says nothing itself. */
  staleIfError: duration.default(0),
  /** How long coalesced requests wait for the one fetching a key before fetching themselves. */
  lockTimeout: duration.default(5_000),
  /** Heuristic freshness: this fraction of (Date - Last-Modified), RFC 9111 §4.2.2. */
  heuristicFraction: z.number().min(0).max(1).default(0.1),
  heuristicMax: duration.default(86_400_000),
});

export const adminSchema = z.strictObject({
  address: z.string().default('127.0.0.1'),
  port: port.default(9901),
  /** Bearer token; required when the admin plane is bound to a non-loopback address. */
  token: z.string().min(16, 'admin.token must be at least 16 characters').optional(),
});

export const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** One JSON line per request. */
  access: z.boolean().default(true),
  /** Human output: "auto" when stdout is a terminal. */
  pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
});

export const shutdownSchema = z.strictObject({
  /** After readiness turns "draining", keep serving this long so BGP withdraws first. */
  grace: duration.default(0),
  /** Hard limit for in-flight requests to finish once listeners are closed. */
  deadline: duration.default(30_000),
});

const thresholds = z.strictObject({
  /** Value at which pressure starts rising above 0. */
  low: z.number().min(0),
  /** Value at which pressure is 1. */
  high: z.number().min(0),
}).refine((t) => t.high > t.low, { message: 'high must be greater than low', path: ['high'] });

/**
 * Connection admission (src/overload/admission.ts). While the event loop is saturated and
 * more connections are busy than fit in targetDelay (by the measured CPU per request, or by
 * the loop's lateness when that lets more in), the worker serves only that many: the newest
 * busy ones are told to go, new ones wait before TLS, up to queueTimeout, then are closed.
 * While limited, the worker reports itself overloaded (the route is de-preferred).
 * maxHandshakes applies always.
 */
export const admissionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * The queueing delay a busy connection's request may see: capacity = the larger of
   * targetDelay / CPU per request and busy × targetDelay / (twice the loop's mean
   * lateness). Generous on purpose: a client waiting 100 ms is better served than one
   * turned away, and moving load to other nodes is the route's job (reported overloaded).
   */
  targetDelay: duration.default(100),
  /** Event-loop utilisation at which the worker counts as saturated. */
  saturation: z.number().gt(0).max(1).default(0.9),
  minConnections: z.number().int().min(1).default(32),
  releaseAfter: duration.default(5000),
  queueTimeout: duration.default(3000),
  maxQueued: z.number().int().min(0).default(4096),
  /** TLS handshakes running at once per worker; more new connections wait (always on). */
  maxHandshakes: z.number().int().min(1).default(8),
});

export const overloadSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How often monitors are sampled. */
  interval: duration.default(250),
  eventLoopDelayMs: thresholds.default({ low: 50, high: 500 }),
  /**
   * Busy time of the event loop (0..1). A loop at 1.0 is saturated, not necessarily slow:
   * every closed-loop load test gets there. By default it alone reaches pressure 0.5 at
   * most — visible in metrics, acting on nothing — because withdrawing or shedding on
   * saturation would take healthy nodes out of an anycast fleet one after another.
   * Latency is what eventLoopDelayMs measures.
   */
  eventLoopUtilization: thresholds.default({ low: 0.9, high: 1.1 }),
  inflightRequests: thresholds.default({ low: 2000, high: 10000 }),
  openConnections: thresholds.default({ low: 10000, high: 40000 }),
  heapUsedRatio: thresholds.default({ low: 0.8, high: 0.95 }),
  originErrorRate: thresholds.default({ low: 0.5, high: 0.9 }),
  /** Pressure at which each named action starts (it stops again below start - hysteresis). */
  actions: z.strictObject({
    disableKeepAlive: z.number().min(0).max(1).default(0.6),
    shedOriginRequests: z.number().min(0).max(1).default(0.8),
    reportOverloaded: z.number().min(0).max(1).default(0.8),
    reportFailing: z.number().min(0).max(1).default(0.99),
  }).default({ disableKeepAlive: 0.6, shedOriginRequests: 0.8, reportOverloaded: 0.8, reportFailing: 0.99 }),
  hysteresis: z.number().min(0).max(1).default(0.1),
  /** Retry-After seconds sent with a shed 503. */
  retryAfter: z.number().int().min(0).default(2),
  admission: admissionSchema.default(admissionSchema.parse({})),
});

export const healthSchema = z.strictObject({
  /** Its presence disables the node (readiness "disabled"). May hold an ISO time or epoch seconds after which it is ignored. */
  maintenanceFile: z.string().default('/var/lib/anyedge/maintenance'),
});

export const dampeningSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Penalty added per flap (UP → not UP). */
  penalty: z.number().min(0).default(1000),
  halfLife: duration.default(60_000),
  suppress: z.number().min(0).default(2000),
  reuse: z.number().min(0).default(750),
  maxSuppress: duration.default(300_000),
});

export const sidecarSchema = z.strictObject({
  speaker: z.enum(['exabgp', 'bird', 'log']).default('log'),
  prefixes: z.array(z.string().regex(/^[0-9a-f:.]+\/\d{1,3}$/i, 'expected a prefix like 192.0.2.1/32')).default(['192.0.2.1/32']),
  /** The node's unicast admin /readyz; never the anycast address. Default: from admin.address/port. */
  readyz: z.url().optional(),
  interval: duration.default(1000),
  fastInterval: duration.default(200),
  rise: z.number().int().min(1).default(3),
  fall: z.number().int().min(1).default(2),
  timeout: duration.default(500),
  /** Re-send the current announcement this often, in case a peer session reset. */
  refresh: duration.default(30_000),
  birdSocket: z.string().default('/run/bird/bird.ctl'),
  birdProtocol: z.string().default('anycast'),
  /** Protocol announcing the prepended path (OVERLOADED); default "<birdProtocol>_prepend". */
  birdPrependProtocol: z.string().optional(),
  prepend: z.number().int().min(0).max(16).default(3),
  localAs: z.number().int().min(1).max(4294967295).optional(),
  nextHop: z.string().default('self'),
  dampening: dampeningSchema.default(dampeningSchema.parse({})),
});

export const configSchema = z.strictObject({
  /** Worker processes; default: the number of CPUs. */
  workers: z.number().int().min(1).max(256).default(() => Math.max(1, cpus().length)),
  listeners: z.array(listenerSchema).min(1).default([{ address: '127.0.0.1', port: 8443, tls: true }]),
  certificates: z.array(certificateSchema).default([]),
  tls: tlsSchema.default(tlsSchema.parse({})),
  hosts: z.array(hostSchema).default([]),
  /** Host used for requests whose Host matches no configured name; unset → 421. */
  defaultHost: hostName.optional(),
  /** Name used in Via and Cache-Status. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').default('anyedge'),
  /**
   * Trust X-Forwarded-* / Forwarded from clients and append to them. Off at an edge: the
   * client is on the internet, so those headers are replaced, never passed on.
   */
  trustForwarded: z.boolean().default(false),
  origin: originLinkSchema.default(originLinkSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
  cache: cacheSchema.default(cacheSchema.parse({})),
  admin: adminSchema.default(adminSchema.parse({})),
  log: logSchema.default(logSchema.parse({})),
  shutdown: shutdownSchema.default(shutdownSchema.parse({})),
  overload: overloadSchema.default(overloadSchema.parse({})),
  health: healthSchema.default(healthSchema.parse({})),
  sidecar: sidecarSchema.default(sidecarSchema.parse({})),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type StaticConfig = z.output<typeof staticSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type CertificateConfig = z.output<typeof certificateSchema>;
export type OriginLinkConfig = z.output<typeof originLinkSchema>;
export type CacheConfig = z.output<typeof cacheSchema>;
export type OverloadConfig = z.output<typeof overloadSchema>;
export type SidecarConfig = z.output<typeof sidecarSchema>;
export type DampeningConfig = z.output<typeof dampeningSchema>;
