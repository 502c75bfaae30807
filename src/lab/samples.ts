// What a load runner prints (one JSON object per line) and the lab reads back.

export interface StartLine { type: 'start'; ts: number; sliceMs: number }
export interface SliceLine { type: 'slice'; ts: number; ok: Record<string, number>; failed: number; retried: number; errors: Record<string, number> }
/** The answering node changed (the first response from `to`). */
export interface ChangeLine { type: 'change'; ts: number; from: string | null; to: string }
export interface FailLine { type: 'fail'; ts: number; code: string }
export interface DoneLine { type: 'done'; ts: number; total: number; failed: number; retried: number }
export interface OnceLine { type: 'once'; node?: string; status?: number; error?: string }
export type RunnerLine = StartLine | SliceLine | ChangeLine | FailLine | DoneLine | OnceLine;

/** The node that answered: the last entry of Via ("1.1 edge1" → "edge1"). */
export function viaNode(via: string | string[] | undefined): string {
  const v = Array.isArray(via) ? via.join(', ') : via;
  if (!v) return 'unknown';
  const last = v.split(',').at(-1)!.trim().split(/\s+/);
  return last[1] ?? last[0] ?? 'unknown';
}

export function parseRunnerLine(line: string): RunnerLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const o = JSON.parse(line) as { type?: unknown };
    return typeof o.type === 'string' ? (o as RunnerLine) : undefined;
  } catch {
    return undefined;
  }
}
