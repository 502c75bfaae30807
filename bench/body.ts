// The bytes every subject serves, so that each one sends the same payload and the same
// caching headers: the origin generates them, the bare server holds them in memory.
export const PATHS = { small: '/1k', large: '/100k', static: '/static/file-1k.bin' } as const;

export const SIZES: Readonly<Record<string, number>> = { '/1k': 1024, '/100k': 100 * 1024 };

/** Deterministic printable bytes (compressible data would flatter nobody here: no compression is on). */
export function bodyOf(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

/** Cacheable for an hour by any shared cache; no Vary, so every cache can store it. */
export const CACHEABLE_HEADERS = {
  'content-type': 'application/octet-stream',
  'cache-control': 'public, max-age=3600',
} as const;

/** "/1k?x=1" → 1024, unknown → undefined. */
export function sizeForTarget(target: string): number | undefined {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path.startsWith('/static/')) return 1024;
  return SIZES[path];
}
