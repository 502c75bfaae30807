// Durations and sizes as operators write them: "200ms", "2s", "1m", "1h"; "16kb", "8mb", "1gb".
// Bare numbers are milliseconds and bytes.

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?$/i;

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_BYTES: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Parses "200ms" | "2s" | "1.5m" | 250 into milliseconds; undefined when malformed. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (DURATION_MS[m[2] ?? 'ms'] ?? 1));
}

/** Parses "16kb" | "8mb" | 1024 into bytes (binary multiples); undefined when malformed. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (SIZE_BYTES[(m[2] ?? 'b').toLowerCase()] ?? 1));
}
