// Files served at the edge from a configured directory (pipeline phase 3), without the
// origin. Contents live in a byte-bounded store; what is on disk is checked again at most
// once per second per path, so an edit shows up within a second and a busy file costs no
// system call in between.
//
// Security model: the target is decoded once, per segment, and refused (400) if it could
// climb out of the root (target.ts); the file found is then realpath'd and must still lie
// inside the real root, so a symlink pointing outside is treated as absent. Dotfiles
// (.env, .git/) are absent too, except /.well-known/ (RFC 8615).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { StaticConfig } from '../config/schema.js';
import { AnyedgeError } from '../errors.js';
import { negotiateEncoding } from '../http/accept-encoding.js';
import { evaluatePreconditions } from '../http/conditional.js';
import { headerValue } from '../http/headers.js';
import { formatHttpDate } from '../http/http-date.js';
import { contentRange, evaluateIfRange, parseRange, unsatisfiedRange } from '../http/range.js';
import { contentTypeFor } from './content-type.js';
import { createStaticStore } from './store.js';
import type { StaticFile, StaticStore } from './store.js';
import { normalizePrefix, parseStaticTarget } from './target.js';
import type { StaticTarget } from './target.js';

export interface StaticRequest {
  method: string;
  /** path + query as received, already percent-encoded */
  target: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface StaticResponse {
  status: number;
  /** Lower-case names. Content-Length is always set, except on 304. */
  headers: Record<string, string | string[]>;
  /** null for HEAD and 304. */
  body: Buffer | null;
}

export interface StaticSiteOptions {
  /** Where file contents are held; default: an lru-cache of maxBytes. */
  store?: StaticStore;
  /** Size of the default store. Default 64 MiB. */
  maxBytes?: number;
  /** Clock for the once-a-second disk check and If-Range; default Date.now. */
  now?: () => number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** How long what we learnt about a path on disk is trusted. */
const RECHECK_MS = 1000;
/** Paths whose disk state is remembered (found or not); bounded so a scan of random paths costs only stats. */
const MAX_PATHS = 10_000;
/** Plain GET answers remembered for the fast path: how many, how many body bytes (beyond the store's), which bodies. */
const MAX_RECENT = 512;
const MAX_RECENT_BYTES = 8 * 1024 * 1024;
const MAX_RECENT_BODY = 256 * 1024;
/** Request fields that make a GET more than "send the file": they always take the full path. */
const CONDITIONAL = ['range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;
const IMMUTABLE = 'public, max-age=31536000, immutable';
// Every answer about a file varies by Accept-Encoding, even when no sibling exists today:
// one may appear on the next deploy while caches still hold this response.
const VARY = 'Accept-Encoding';
const ALLOW = 'GET, HEAD';
/** Precompressed siblings, most preferred first (ties in Accept-Encoding go to br). */
const SIBLINGS = [['br', '.br'], ['gzip', '.gz']] as const;
const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG']);

type Coding = 'identity' | 'br' | 'gzip';

/** One file on disk as last stat'ed; `etag` is learnt when its bytes are first read. */
interface Variant {
  readonly path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  etag: string | undefined;
}

type Resolution =
  | { readonly kind: 'missing' }
  | { readonly kind: 'redirect' }
  | { readonly kind: 'file'; readonly name: string; readonly variants: ReadonlyMap<Coding, Variant> };

/**
 * A plain GET's whole 200 answer, reused for the same target and Accept-Encoding until the
 * path is next due a disk check: the same bytes the full path would send until then.
 */
interface RecentAnswer {
  readonly until: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const MISSING: Resolution = { kind: 'missing' };
const REDIRECT: Resolution = { kind: 'redirect' };

export class StaticSite {
  readonly #cfg: StaticConfig;
  readonly #prefix: string;
  readonly #immutable: RegExp;
  readonly #store: StaticStore;
  readonly #now: () => number;
  readonly #paths = new LRUCache<string, { checkedAt: number; res: Resolution }>({ max: MAX_PATHS });
  readonly #loading = new Map<string, Promise<StaticFile>>();
  readonly #recent = new Map<string, RecentAnswer>();
  #recentBytes = 0;
  #root: Promise<string> | undefined;

  constructor(cfg: StaticConfig, opts: StaticSiteOptions = {}) {
    this.#cfg = cfg;
    this.#prefix = normalizePrefix(cfg.prefix);
    try {
      this.#immutable = new RegExp(cfg.immutablePattern);
    } catch (err) {
      throw new AnyedgeError('CONFIG', `static.immutablePattern is not a valid regular expression: ${String(err)}`, { cause: err });
    }
    this.#store = opts.store ?? createStaticStore(opts.maxBytes ?? DEFAULT_MAX_BYTES);
    this.#now = opts.now ?? Date.now;
  }

  /** Whether the target lies under the prefix: only then can handle() answer. */
  covers(target: string): boolean {
    const prefix = this.#prefix;
    if (prefix === '/') return true;
    if (!target.startsWith(prefix)) return false;
    const next = target.charCodeAt(prefix.length);
    return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f /* ? */;
  }

  /** undefined when the target is not under cfg.prefix or the file does not exist (the pipeline then goes to the origin, or 404s when the host has no origin). */
  handle(req: StaticRequest): Promise<StaticResponse | undefined> {
    const r = this.serve(req);
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  /**
   * handle() for the pipeline's hot path: the answer to a repeated plain GET comes back as
   * it is, in the same turn; everything else (a disk check, a miss) is a promise.
   */
  serve(req: StaticRequest): StaticResponse | Promise<StaticResponse | undefined> {
    // Most requests for a busy file are plain GETs: answered from the last full answer,
    // without parsing the target, looking the path up or building headers again.
    const key = recentKey(req);
    if (key !== undefined) {
      const recent = this.#recent.get(key);
      if (recent !== undefined && this.#now() < recent.until) return { status: 200, headers: copyHeaders(recent.headers), body: recent.body };
    }
    return this.#handle(req, key);
  }

  async #handle(req: StaticRequest, reuseKey: string | undefined): Promise<StaticResponse | undefined> {
    const target = parseStaticTarget(req.target, this.#prefix);
    if (target.kind === 'outside' || target.kind === 'hidden') return undefined;
    const head = req.method === 'HEAD';
    if (target.kind === 'bad') return short(400, {}, head);

    const { res, checkedAt } = await this.#resolve(target);
    if (res.kind === 'missing') return undefined;
    // The path is ours: other methods are refused here rather than passed to the origin.
    if (req.method !== 'GET' && !head) return short(405, { allow: ALLOW }, false);
    if (res.kind === 'redirect') {
      return short(301, { location: `${target.rawPath}/${target.query}`, 'cache-control': this.#cfg.cacheControl }, head);
    }

    const available = SIBLINGS.map(([coding]) => coding).filter((c) => res.variants.has(c));
    const coding = negotiateEncoding(headerValue(req.headers, 'accept-encoding'), available) as Coding;
    const variant = res.variants.get(coding) ?? res.variants.get('identity');
    if (variant === undefined) return undefined; // unreachable: identity is always there
    // HEAD and 304 need the ETag only; it is remembered per file version, so they read no bytes.
    let file = variant.etag === undefined ? await this.#loadOrForget(variant, target) : undefined;
    if (variant.etag === undefined && file === undefined) return undefined;
    const etag = file?.etag ?? variant.etag ?? '';
    const validators = { etag, lastModified: variant.mtimeMs };

    const cacheControl = this.#immutable.test(res.name) ? IMMUTABLE : this.#cfg.cacheControl;

    switch (evaluatePreconditions(req.method, req.headers, validators)) {
      case 'not-modified':
        // §15.4.5: the fields a 200 would have carried that guide cache updates.
        return { status: 304, headers: { etag, 'cache-control': cacheControl, vary: VARY }, body: null };
      case 'precondition-failed':
        return short(412, { vary: VARY }, head);
      case 'proceed':
        break;
    }

    const contentType = contentTypeFor(res.name);
    const encoding = coding === 'identity' ? undefined : coding;
    if (head) return { status: 200, headers: fileHeaders(contentType, encoding, cacheControl, etag, variant.mtimeMs, variant.size), body: null };

    file ??= await this.#loadOrForget(variant, target);
    if (file === undefined) return undefined;
    const size = file.body.length;
    // Range applies to GET only (§14.2), to the bytes sent: the encoded ones for br/gzip.
    const ifRange = headerValue(req.headers, 'if-range');
    const rangeHeader = headerValue(req.headers, 'range');
    const range = rangeHeader !== undefined && evaluateIfRange(ifRange, { etag: file.etag, lastModified: file.mtimeMs }, this.#now())
      ? parseRange(rangeHeader, size)
      : { kind: 'none' as const };
    if (range.kind === 'unsatisfiable') {
      return short(416, { 'content-range': unsatisfiedRange(size), 'accept-ranges': 'bytes', vary: VARY }, false);
    }
    if (range.kind === 'range') {
      const body = file.body.subarray(range.start, range.end + 1);
      const headers = fileHeaders(contentType, encoding, cacheControl, file.etag, file.mtimeMs, body.length);
      headers['content-range'] = contentRange(range.start, range.end, size);
      return { status: 206, headers, body };
    }
    const headers = fileHeaders(contentType, encoding, cacheControl, file.etag, file.mtimeMs, size);
    if (reuseKey !== undefined) this.#remember(reuseKey, { until: checkedAt + RECHECK_MS, headers, body: file.body });
    return { status: 200, headers: copyHeaders(headers), body: file.body };
  }

  /**
   * Keeps a plain GET's answer for the fast path. The bodies are the store's own buffers, so
   * what this holds beyond the store's budget is only what the store has since evicted:
   * bounded by MAX_RECENT_BYTES, and by the map being emptied when full.
   */
  #remember(key: string, answer: RecentAnswer): void {
    const size = answer.body.length;
    if (size > MAX_RECENT_BODY) return;
    const previous = this.#recent.get(key);
    if (previous !== undefined) this.#recentBytes -= previous.body.length;
    else if (this.#recent.size >= MAX_RECENT || this.#recentBytes + size > MAX_RECENT_BYTES) {
      this.#recent.clear();
      this.#recentBytes = 0;
    }
    this.#recent.set(key, answer);
    this.#recentBytes += size;
  }

  /** What a path names on disk, from memory when checked less than a second ago. */
  async #resolve(target: Extract<StaticTarget, { kind: 'path' }>): Promise<{ res: Resolution; checkedAt: number }> {
    const key = pathKey(target);
    const now = this.#now();
    const known = this.#paths.get(key);
    if (known !== undefined && now - known.checkedAt < RECHECK_MS) return known;
    const res = await this.#resolveOnDisk(target, known?.res);
    const entry = { checkedAt: now, res };
    this.#paths.set(key, entry);
    return entry;
  }

  async #resolveOnDisk(target: Extract<StaticTarget, { kind: 'path' }>, previous: Resolution | undefined): Promise<Resolution> {
    const root = await this.#realRoot();
    const candidate = join(root, ...target.segments);
    const found = await this.#statInside(root, candidate);
    if (found === undefined) return MISSING;
    let file = candidate;
    let { real, st } = found;
    let name = target.segments.at(-1) ?? '';
    if (st.isDirectory()) {
      if (!target.directory) return REDIRECT;
      file = join(found.real, 'index.html');
      const index = await this.#statInside(root, file);
      if (index === undefined) return MISSING;
      ({ real, st } = index);
      name = 'index.html';
    } else if (target.directory) {
      return MISSING; // "/app.js/" names nothing
    }
    if (!st.isFile()) return MISSING;

    const before = previous?.kind === 'file' ? previous.variants : undefined;
    const variants = new Map<Coding, Variant>();
    const identity = variantOf(real, st, before?.get('identity'));
    variants.set('identity', identity);
    for (const [coding, ext] of SIBLINGS) {
      const sib = await this.#statInside(root, file + ext);
      // A sibling older than the file was left behind by an edit: serving it would send stale content.
      if (sib === undefined || !sib.st.isFile() || sib.st.mtimeMs < st.mtimeMs) continue;
      variants.set(coding, variantOf(sib.real, sib.st, before?.get(coding)));
    }
    return { kind: 'file', name, variants };
  }

  /** realpath + stat of a path, or undefined when it does not exist, escapes the root or is hidden. */
  async #statInside(root: string, path: string): Promise<{ real: string; st: Stats } | undefined> {
    try {
      const real = await realpath(path);
      if (!isInside(root, real)) return undefined;
      // A symlink inside the root may still point at a dotfile.
      const rel = real.slice(root.length).split(sep).filter((s) => s !== '');
      if (rel.some((s, i) => s.startsWith('.') && !(i === 0 && s === '.well-known'))) return undefined;
      return { real, st: await stat(real) };
    } catch (err) {
      if (NOT_FOUND.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw err;
    }
  }

  #realRoot(): Promise<string> {
    this.#root ??= realpath(this.#cfg.root).catch((err: unknown) => {
      this.#root = undefined; // try again on the next request
      throw new AnyedgeError('CONFIG', `static.root ${this.#cfg.root} cannot be opened: ${String(err)}`, { cause: err });
    });
    return this.#root;
  }

  /** #load, but a file deleted since its stat is absent (and its path is looked up again next time). */
  async #loadOrForget(variant: Variant, target: Extract<StaticTarget, { kind: 'path' }>): Promise<StaticFile | undefined> {
    try {
      return await this.#load(variant);
    } catch (err) {
      if (!NOT_FOUND.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      this.#paths.delete(pathKey(target));
      return undefined;
    }
  }

  /** The bytes of a variant: from the store when it still matches the disk, else read (once for concurrent requests). */
  #load(variant: Variant): Promise<StaticFile> {
    const key = `static:${variant.path}`;
    const cached = this.#store.get(key);
    if (cached !== undefined && cached.size === variant.size && cached.mtimeMs === variant.mtimeMs && cached.ino === variant.ino) {
      variant.etag = cached.etag;
      return Promise.resolve(cached);
    }
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = readFile(variant.path).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading.then((file) => {
      // What was read is authoritative: the file may have changed since the stat.
      variant.size = file.size;
      variant.mtimeMs = file.mtimeMs;
      variant.ino = file.ino;
      variant.etag = file.etag;
      this.#store.set(key, file, file.body.length + 256);
      return file;
    });
  }
}

/**
 * Reads a file and names its bytes with a strong ETag: a content hash rather than
 * size+mtime, because the nodes of an anycast site get the same files at different times
 * (rsync, images), so mtimes differ; a client moved to another node would then never get
 * a 304. Each encoded variant hashes its own bytes, so variants have distinct ETags (§8.8.3).
 */
async function readFile(path: string): Promise<StaticFile> {
  // O_NOFOLLOW: the path is a realpath; a symlink swapped in since is refused, not followed.
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    const body = await fh.readFile();
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    return { body, etag, size: body.length, mtimeMs: st.mtimeMs, ino: st.ino };
  } finally {
    await fh.close();
  }
}

/** The fast path's key for a plain GET (target and Accept-Encoding), or undefined when the request is anything more. */
function recentKey(req: StaticRequest): string | undefined {
  if (req.method !== 'GET') return undefined;
  const h = req.headers;
  for (const name of CONDITIONAL) if (h[name] !== undefined) return undefined;
  const ae = h['accept-encoding'];
  if (ae === undefined) return req.target;
  return typeof ae === 'string' ? `${req.target}\n${ae}` : undefined;
}

function pathKey(target: Extract<StaticTarget, { kind: 'path' }>): string {
  return target.segments.join('/') + (target.directory ? '/' : '');
}

function variantOf(path: string, st: Stats, previous: Variant | undefined): Variant {
  const same = previous !== undefined && previous.path === path && previous.size === st.size && previous.mtimeMs === st.mtimeMs && previous.ino === st.ino;
  return { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, etag: same ? previous.etag : undefined };
}

function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The fields of a 200 (or 206, HEAD) answer with a file's bytes. */
function fileHeaders(contentType: string, encoding: Coding | undefined, cacheControl: string, etag: string, mtimeMs: number, length: number): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    etag,
    'last-modified': formatHttpDate(mtimeMs),
    'cache-control': cacheControl,
    vary: VARY,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-length': String(length),
  };
  if (encoding !== undefined) headers['content-encoding'] = encoding;
  return headers;
}

/**
 * A copy the pipeline may add fields to. Deliberately not `{ ...headers }`: on Node 20 a
 * copy made by a spread-first literal, filled in by the pipeline and written by Node's
 * HTTP layer, cost the whole request about 40 % more CPU (bench/results/optimisations/
 * README.md, the "static:" row); a literal that starts with a field of its own did not.
 */
function copyHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return { 'content-type': headers['content-type']!, ...headers };
}

/** A response without content: Content-Length 0, an empty body (none for HEAD). */
function short(status: number, headers: Record<string, string>, head: boolean): StaticResponse {
  return { status, headers: { ...headers, 'content-length': '0' }, body: head ? null : Buffer.alloc(0) };
}
