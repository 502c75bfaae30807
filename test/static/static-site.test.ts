import { mkdir, mkdtemp, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticSchema } from '../../src/config/schema.js';
import { StaticSite } from '../../src/static/static-site.js';
import type { StaticRequest, StaticResponse } from '../../src/static/static-site.js';
import type { StaticFile, StaticStore } from '../../src/static/store.js';

const SECRET = 'TOP-SECRET-OUTSIDE-ROOT';
const MTIME = new Date(Date.UTC(2024, 0, 10, 12, 0, 0));
const MTIME_HTTP = 'Wed, 10 Jan 2024 12:00:00 GMT';
const APP_JS = 'console.log("hello from the edge");\n'.repeat(20);
const STYLE = 'body { color: rebeccapurple; }\n';
const DIGITS = '0123456789abcdefghij';

let dir: string;
let root: string;
let clock: number;
let site: StaticSite;

async function put(rel: string, content: string | Buffer, mtime = MTIME): Promise<void> {
  const p = join(root, rel);
  await writeFile(p, content);
  await utimes(p, mtime, mtime);
}

function makeSite(overrides: Record<string, string> = {}, store?: StaticStore): StaticSite {
  const cfg = staticSchema.parse({ root, ...overrides });
  return new StaticSite(cfg, store === undefined ? { now: () => clock } : { now: () => clock, store });
}

function req(target: string, headers: StaticRequest['headers'] = {}, method = 'GET'): StaticRequest {
  return { method, target, headers };
}

async function get(target: string, headers: StaticRequest['headers'] = {}, method = 'GET'): Promise<StaticResponse> {
  const res = await site.handle(req(target, headers, method));
  if (res === undefined) throw new Error(`expected a response for ${method} ${target}`);
  return res;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anyedge-static-'));
  root = join(dir, 'public');
  await mkdir(join(dir, 'outside'));
  await writeFile(join(dir, 'outside', 'secret.txt'), SECRET);
  await mkdir(root);
  for (const d of ['docs', 'emptydir', '.git', '.well-known']) await mkdir(join(root, d));
  await put('index.html', '<!doctype html><title>home</title>');
  await put('docs/index.html', '<!doctype html><title>docs</title>');
  await put('app.3f9a1c2b.js', APP_JS);
  await put('app.3f9a1c2b.js.br', brotliCompressSync(APP_JS));
  await put('app.3f9a1c2b.js.gz', gzipSync(APP_JS));
  await put('style.css', STYLE);
  await put('digits.txt', DIGITS);
  await put('empty.txt', '');
  await put('stale.txt', 'new content');
  await put('stale.txt.gz', gzipSync('old content'), new Date(MTIME.getTime() - 60_000));
  await put('sneaky.txt', 'sneaky');
  await symlink(join(dir, 'outside', 'secret.txt'), join(root, 'sneaky.txt.br'));
  await put('.env', `SECRET=${SECRET}`);
  await put('.git/config', SECRET);
  await put('.well-known/security.txt', 'Contact: mailto:security@example.com\n');
  await symlink(join(dir, 'outside', 'secret.txt'), join(root, 'link-out.txt'));
  await symlink('../outside', join(root, 'dir-out'));
  await symlink('style.css', join(root, 'link-in.css'));
  await symlink('.env', join(root, 'link-dot.txt'));
  clock = Date.UTC(2025, 0, 1);
  site = makeSite();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StaticSite: serving files', () => {
  it('answers GET with the file and its metadata', async () => {
    const res = await get('/style.css');
    expect(res.status).toBe(200);
    expect(res.body?.toString()).toBe(STYLE);
    expect(res.headers).toMatchObject({
      'content-type': 'text/css; charset=utf-8',
      'content-length': String(STYLE.length),
      'last-modified': MTIME_HTTP,
      'cache-control': 'public, max-age=300',
      vary: 'Accept-Encoding',
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });
    expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('gives the same strong ETag to the same bytes whatever their mtime (other nodes, other deploy times)', async () => {
    const first = await get('/style.css');
    await put('copy.css', STYLE, new Date(MTIME.getTime() + 3_600_000));
    const copy = await get('/copy.css');
    expect(copy.headers.etag).toBe(first.headers.etag);
    expect(copy.headers['last-modified']).not.toBe(first.headers['last-modified']);
    expect((await get('/digits.txt')).headers.etag).not.toBe(first.headers.etag);
  });

  it.each([
    ['page.html', 'text/html; charset=utf-8'],
    ['a.css', 'text/css; charset=utf-8'],
    ['a.js', 'text/javascript; charset=utf-8'],
    ['a.mjs', 'text/javascript; charset=utf-8'],
    ['a.json', 'application/json; charset=utf-8'],
    ['a.js.map', 'application/json; charset=utf-8'],
    ['a.svg', 'image/svg+xml; charset=utf-8'],
    ['a.PNG', 'image/png'],
    ['a.jpg', 'image/jpeg'],
    ['a.gif', 'image/gif'],
    ['a.webp', 'image/webp'],
    ['a.avif', 'image/avif'],
    ['favicon.ico', 'image/vnd.microsoft.icon'],
    ['a.woff', 'font/woff'],
    ['a.woff2', 'font/woff2'],
    ['a.txt', 'text/plain; charset=utf-8'],
    ['a.xml', 'application/xml; charset=utf-8'],
    ['a.wasm', 'application/wasm'],
    ['a.pdf', 'application/pdf'],
    ['a.mp4', 'video/mp4'],
    ['a.webm', 'video/webm'],
    ['a.bin', 'application/octet-stream'],
    ['Makefile', 'application/octet-stream'],
  ])('Content-Type of %s is %s', async (name, type) => {
    await put(name, 'x');
    expect((await get(`/${name}`)).headers['content-type']).toBe(type);
  });

  it.each([
    ['/app.3f9a1c2b.js', 'public, max-age=31536000, immutable'],
    ['/style.css', 'public, max-age=300'],
    ['/', 'public, max-age=300'],
  ])('Cache-Control of %s is %s', async (target, cc) => {
    expect((await get(target)).headers['cache-control']).toBe(cc);
  });

  it('uses cfg.cacheControl and cfg.immutablePattern', async () => {
    site = makeSite({ cacheControl: 'no-cache', immutablePattern: '^style\\.' });
    expect((await get('/style.css')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/digits.txt')).headers['cache-control']).toBe('no-cache');
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const getRes = await get('/style.css');
    const head = await get('/style.css', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(head.headers).toEqual(getRes.headers);
    // and without having read the file before
    site = makeSite();
    const cold = await get('/digits.txt', {}, 'HEAD');
    expect(cold.headers['content-length']).toBe(String(DIGITS.length));
    expect(cold.headers.etag).toBe((await get('/digits.txt')).headers.etag);
  });

  it('refuses other methods with 405 when the path exists, and leaves missing paths to the origin', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'get']) {
      const res = await get('/style.css', {}, method);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.body?.length).toBe(0);
    }
    expect((await get('/docs', {}, 'POST')).status).toBe(405);
    expect(await site.handle(req('/api/login', {}, 'POST'))).toBeUndefined();
  });

  it('answers only under its prefix', async () => {
    site = makeSite({ prefix: '/static/' });
    expect((await get('/static/style.css')).body?.toString()).toBe(STYLE);
    expect((await get('/static/')).body?.toString()).toContain('home');
    expect((await get('/static')).status).toBe(301);
    expect(await site.handle(req('/style.css'))).toBeUndefined();
    expect(await site.handle(req('/staticstyle.css'))).toBeUndefined();
  });

  it('says which targets it covers, so the pipeline can skip it for every other one', async () => {
    site = makeSite({ prefix: '/static/' });
    const targets = ['/static/style.css', '/static/', '/static', '/static?x=1', '/static/%2e%2e/x', '/style.css', '/staticstyle.css', '/stat', '*', 'http://h/static/style.css'];
    for (const t of targets) {
      const answered = (await site.handle(req(t))) !== undefined;
      // covers() may say yes to a target handle() then passes on, never no to one it answers.
      if (answered) expect(site.covers(t), t).toBe(true);
    }
    expect(targets.filter((t) => site.covers(t))).toEqual(['/static/style.css', '/static/', '/static', '/static?x=1', '/static/%2e%2e/x']);
    expect(makeSite({ prefix: '/' }).covers('/anything')).toBe(true);
  });

  it('returns undefined for files that do not exist', async () => {
    for (const t of ['/nope.css', '/docs/nope.html', '/emptydir/', '/style.css/', '/nope/', '/style.css.br']) {
      expect(await site.handle(req(t))).toBeUndefined();
    }
  });

  it('serves index.html for directories and redirects /dir to /dir/', async () => {
    expect((await get('/')).body?.toString()).toContain('home');
    const docs = await get('/docs/?page=2');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(docs.body?.toString()).toContain('docs');
    const redirect = await get('/docs?page=2');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/docs/?page=2');
    expect(redirect.body?.length).toBe(0);
    expect((await get('/docs', {}, 'HEAD')).body).toBeNull();
  });

  it('serves /.well-known/ and symlinks that stay inside the root', async () => {
    expect((await get('/.well-known/security.txt')).body?.toString()).toContain('Contact:');
    const linked = await get('/link-in.css');
    expect(linked.body?.toString()).toBe(STYLE);
    expect(linked.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('rejects an invalid immutablePattern at construction and reports a missing root', async () => {
    expect(() => makeSite({ immutablePattern: '(' })).toThrow(expect.objectContaining({ code: 'AE_CONFIG' }));
    const bad = new StaticSite(staticSchema.parse({ root: join(dir, 'no-such-dir') }));
    await expect(bad.handle(req('/x'))).rejects.toMatchObject({ code: 'AE_CONFIG' });
  });
});

describe('StaticSite: security', () => {
  const refused: [string, 400 | undefined][] = [
    ['/../etc/passwd', 400],
    ['/../outside/secret.txt', 400],
    ['/%2e%2e/outside/secret.txt', 400],
    ['/%2e%2e%2foutside%2fsecret.txt', 400],
    ['/..%2foutside%2fsecret.txt', 400],
    ['/%252e%252e/outside/secret.txt', 400],
    ['/docs/..%5c..%5coutside%5csecret.txt', 400],
    ['/..\\outside\\secret.txt', 400],
    ['/style.css%00.png', 400],
    ['/style.css%00', 400],
    ['/%zz', 400],
    ['/%c0%ae%c0%ae/outside/secret.txt', 400],
    ['/link-out.txt', undefined],
    ['/dir-out/secret.txt', undefined],
    ['/dir-out/', undefined],
    ['/link-dot.txt', undefined],
    ['/.env', undefined],
    ['/%2eenv', undefined],
    ['/.git/config', undefined],
    ['/.git/', undefined],
    ['//evil.example/', undefined],
  ];
  it.each(refused)('%s → %s, never the file', async (target, expected) => {
    for (const method of ['GET', 'HEAD']) {
      const res = await site.handle(req(target, { 'accept-encoding': 'br, gzip' }, method));
      expect(res?.status).toBe(expected);
      expect(res?.body?.toString() ?? '').not.toContain(SECRET);
    }
  });

  it('ignores a precompressed sibling that is a symlink out of the root', async () => {
    const res = await get('/sneaky.txt', { 'accept-encoding': 'br' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body?.toString()).toBe('sneaky');
  });
});

describe('StaticSite: precompressed siblings', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br', 'br'],
    ['*', 'br'],
    ['br;q=0, gzip;q=0', undefined],
    ['deflate', undefined],
  ])('Accept-Encoding %j → %s', async (ae, coding) => {
    const res = await get('/app.3f9a1c2b.js', ae === undefined ? {} : { 'accept-encoding': ae });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe(coding);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const body = res.body ?? Buffer.alloc(0);
    expect(res.headers['content-length']).toBe(String(body.length));
    const decoded = coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body;
    expect(decoded.toString()).toBe(APP_JS);
  });

  it('gives each encoding its own ETag and revalidates each against its own', async () => {
    const br = await get('/app.3f9a1c2b.js', { 'accept-encoding': 'br' });
    const gz = await get('/app.3f9a1c2b.js', { 'accept-encoding': 'gzip' });
    const id = await get('/app.3f9a1c2b.js');
    expect(new Set([br.headers.etag, gz.headers.etag, id.headers.etag]).size).toBe(3);
    const brEtag = String(br.headers.etag);
    expect((await get('/app.3f9a1c2b.js', { 'accept-encoding': 'br', 'if-none-match': brEtag })).status).toBe(304);
    expect((await get('/app.3f9a1c2b.js', { 'if-none-match': brEtag })).status).toBe(200);
  });

  it('applies a range to the encoded bytes', async () => {
    const full = await get('/app.3f9a1c2b.js', { 'accept-encoding': 'br' });
    const total = full.body?.length ?? 0;
    const res = await get('/app.3f9a1c2b.js', { 'accept-encoding': 'br', range: 'bytes=0-9' });
    expect(res.status).toBe(206);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-range']).toBe(`bytes 0-9/${total}`);
    expect(res.body).toEqual(full.body?.subarray(0, 10));
  });

  it('ignores a sibling older than the file (left behind by an edit)', async () => {
    const res = await get('/stale.txt', { 'accept-encoding': 'gzip' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body?.toString()).toBe('new content');
    expect(res.headers.vary).toBe('Accept-Encoding');
  });
});

describe('StaticSite: conditional requests', () => {
  it.each<[string, Record<string, string>, string, number]>([
    ['If-None-Match current', { 'if-none-match': 'ETAG' }, 'GET', 304],
    ['If-None-Match weak current', { 'if-none-match': 'W/ETAG' }, 'HEAD', 304],
    ['If-None-Match other', { 'if-none-match': '"other"' }, 'GET', 200],
    ['If-None-Match *', { 'if-none-match': '*' }, 'GET', 304],
    ['If-Modified-Since = Last-Modified', { 'if-modified-since': MTIME_HTTP }, 'GET', 304],
    ['If-Modified-Since earlier', { 'if-modified-since': 'Wed, 10 Jan 2024 11:00:00 GMT' }, 'GET', 200],
    ['If-None-Match other wins over IMS', { 'if-none-match': '"other"', 'if-modified-since': MTIME_HTTP }, 'GET', 200],
    ['If-Match current', { 'if-match': 'ETAG' }, 'GET', 200],
    ['If-Match other', { 'if-match': '"other"' }, 'GET', 412],
    ['If-Unmodified-Since earlier', { 'if-unmodified-since': 'Wed, 10 Jan 2024 11:00:00 GMT' }, 'GET', 412],
    ['If-Unmodified-Since = Last-Modified', { 'if-unmodified-since': MTIME_HTTP }, 'HEAD', 200],
  ])('%s → %d', async (_name, conditions, method, status) => {
    const etag = String((await get('/style.css')).headers.etag);
    const headers = Object.fromEntries(Object.entries(conditions).map(([k, v]) => [k, v.replace('ETAG', etag)]));
    const res = await get('/style.css', headers, method);
    expect(res.status).toBe(status);
    if (status === 304) {
      expect(res.body).toBeNull();
      expect(res.headers).toEqual({ etag, 'cache-control': 'public, max-age=300', vary: 'Accept-Encoding' });
    } else if (status === 412) {
      expect(res.body?.length ?? 0).toBe(0);
      expect(res.headers['content-length']).toBe('0');
    } else {
      expect(res.headers.etag).toBe(etag);
      expect(res.body?.toString()).toBe(method === 'HEAD' ? undefined : STYLE);
    }
  });
});

describe('StaticSite: ranges', () => {
  it.each<[string, Record<string, string>, number, string | undefined, string]>([
    ['first bytes', { range: 'bytes=0-4' }, 206, 'bytes 0-4/20', '01234'],
    ['suffix', { range: 'bytes=-3' }, 206, 'bytes 17-19/20', 'hij'],
    ['open-ended', { range: 'bytes=15-' }, 206, 'bytes 15-19/20', 'fghij'],
    ['clamped', { range: 'bytes=18-100' }, 206, 'bytes 18-19/20', 'ij'],
    ['unsatisfiable', { range: 'bytes=20-' }, 416, 'bytes */20', ''],
    ['several ranges → full', { range: 'bytes=0-1,5-6' }, 200, undefined, DIGITS],
    ['invalid → full', { range: 'bytes=5-1' }, 200, undefined, DIGITS],
    ['other unit → full', { range: 'items=0-1' }, 200, undefined, DIGITS],
    ['If-Range current ETag', { range: 'bytes=0-1', 'if-range': 'ETAG' }, 206, 'bytes 0-1/20', '01'],
    ['If-Range old ETag → full', { range: 'bytes=0-1', 'if-range': '"old"' }, 200, undefined, DIGITS],
    ['If-Range Last-Modified', { range: 'bytes=0-1', 'if-range': MTIME_HTTP }, 206, 'bytes 0-1/20', '01'],
    ['If-Range other date → full', { range: 'bytes=0-1', 'if-range': 'Tue, 09 Jan 2024 12:00:00 GMT' }, 200, undefined, DIGITS],
  ])('%s', async (_name, h, status, cr, body) => {
    const etag = String((await get('/digits.txt')).headers.etag);
    const headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.replace('ETAG', etag)]));
    const res = await get('/digits.txt', headers);
    expect(res.status).toBe(status);
    expect(res.headers['content-range']).toBe(cr);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body?.toString()).toBe(body);
    expect(res.headers['content-length']).toBe(String(body.length));
  });

  it('ignores Range on HEAD (§14.2) and on an empty file answers 416 to an int-range', async () => {
    const head = await get('/digits.txt', { range: 'bytes=0-4' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('20');
    expect((await get('/empty.txt', { range: 'bytes=0-' })).status).toBe(416);
    expect((await get('/empty.txt', { range: 'bytes=-5' })).status).toBe(200);
  });

  it('evaluates preconditions before the range', async () => {
    const etag = String((await get('/digits.txt')).headers.etag);
    expect((await get('/digits.txt', { range: 'bytes=0-1', 'if-none-match': etag })).status).toBe(304);
    expect((await get('/digits.txt', { range: 'bytes=0-1', 'if-match': '"x"' })).status).toBe(412);
  });
});

describe('StaticSite: memory and revalidation against disk', () => {
  it('shows an edit after at most a second, with a new ETag', async () => {
    const before = await get('/style.css');
    await put('style.css', 'body { color: red; }\n', new Date(MTIME.getTime() + 5000));
    clock += 999;
    expect((await get('/style.css')).body?.toString()).toBe(STYLE);
    clock += 1;
    const after = await get('/style.css');
    expect(after.body?.toString()).toBe('body { color: red; }\n');
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect((await get('/style.css', { 'if-none-match': String(before.headers.etag) })).status).toBe(200);
  });

  it('notices a same-size edit (mtime) and files that appear or disappear', async () => {
    await get('/digits.txt');
    await put('digits.txt', 'ABCDEFGHIJ0123456789', new Date(MTIME.getTime() + 1000));
    expect(await site.handle(req('/new.txt'))).toBeUndefined();
    await put('new.txt', 'new');
    await unlink(join(root, 'style.css'));
    clock += 1000;
    expect((await get('/digits.txt')).body?.toString()).toBe('ABCDEFGHIJ0123456789');
    expect((await get('/new.txt')).body?.toString()).toBe('new');
    expect(await site.handle(req('/style.css'))).toBeUndefined();
  });

  it('keeps contents in the given store and reads the disk again only when the file changed', async () => {
    const entries = new Map<string, StaticFile>();
    const sets: [string, number][] = [];
    const store: StaticStore = {
      get: (k) => entries.get(k),
      set: (k, f, size) => { sets.push([k, size]); entries.set(k, f); },
      delete: (k) => { entries.delete(k); },
    };
    site = makeSite({}, store);
    await get('/style.css');
    clock += 5000; // past the recheck: a stat, but the bytes still match
    await get('/style.css');
    expect(sets).toHaveLength(1);
    expect(sets[0]?.[0]).toMatch(/^static:.*style\.css$/);
    expect(sets[0]?.[1]).toBeGreaterThanOrEqual(STYLE.length);
    await put('style.css', 'changed', new Date(MTIME.getTime() + 1000));
    clock += 1000;
    expect((await get('/style.css')).body?.toString()).toBe('changed');
    expect(sets).toHaveLength(2);
  });

  it('still serves files larger than the memory budget, from disk', async () => {
    site = new StaticSite(staticSchema.parse({ root }), { maxBytes: 16, now: () => clock });
    expect((await get('/style.css')).body?.toString()).toBe(STYLE);
    expect((await get('/style.css')).body?.toString()).toBe(STYLE);
  });
});

describe('StaticSite: repeated plain GETs (the answer reused until the next disk check)', () => {
  it('still answers conditional, ranged, encoded and HEAD requests for the same file on their own terms', async () => {
    const plain = await get('/app.3f9a1c2b.js');
    await get('/app.3f9a1c2b.js');
    expect((await get('/app.3f9a1c2b.js', { 'if-none-match': String(plain.headers.etag) })).status).toBe(304);
    const ranged = await get('/app.3f9a1c2b.js', { range: 'bytes=0-6' });
    expect([ranged.status, ranged.body?.toString()]).toEqual([206, 'console']);
    const br = await get('/app.3f9a1c2b.js', { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body!).toString()).toBe(APP_JS);
    expect((await get('/app.3f9a1c2b.js', { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe('gzip');
    const again = await get('/app.3f9a1c2b.js');
    expect(again.headers['content-encoding']).toBeUndefined();
    expect(again.body?.toString()).toBe(APP_JS);
    expect((await get('/app.3f9a1c2b.js', {}, 'HEAD')).body).toBeNull();
  });

  it('gives every answer its own header map: fields the caller adds to one never reach the next', async () => {
    const first = await get('/style.css');
    first.headers['x-request-id'] = 'first';
    first.headers['connection'] = 'close';
    const second = await get('/style.css');
    expect(second.headers['x-request-id']).toBeUndefined();
    expect(second.headers['connection']).toBeUndefined();
    expect(second.headers).toEqual({ ...first.headers, 'x-request-id': undefined, connection: undefined });
  });

  it('stops answering for a deleted file at the next disk check', async () => {
    await get('/style.css');
    await unlink(join(root, 'style.css'));
    clock += 999;
    expect((await get('/style.css')).body?.toString()).toBe(STYLE);
    clock += 1;
    expect(await site.handle(req('/style.css'))).toBeUndefined();
  });
});

describe('StaticSite: races with the disk', () => {
  it('treats a file deleted after its stat as absent, not as an error', async () => {
    // A store that keeps nothing, so the GET must read the disk.
    const forgetful: StaticStore = { get: () => undefined, set: () => undefined, delete: () => undefined };
    site = makeSite({}, forgetful);
    expect((await get('/digits.txt', {}, 'HEAD')).status).toBe(200); // path and ETag now known
    await unlink(join(root, 'digits.txt'));
    expect(await site.handle(req('/digits.txt'))).toBeUndefined(); // within the trusted second
    expect(await site.handle(req('/digits.txt', {}, 'HEAD'))).toBeUndefined(); // path forgotten, looked up again
  });
});
